"""The routers of the API, one module per concern (listed in ``tanzhang.app.ROUTERS``)."""
