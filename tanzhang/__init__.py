"""tanzhang package."""
