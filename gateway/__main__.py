"""``python -m gateway``: the gateway with settings from ``TANZHANG_*`` (same as ``tanzhang gateway``)."""

from __future__ import annotations

import logging
import sys

from gateway.cli import main
from tanzhang.settings import Settings

if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    sys.exit(main(Settings(), sys.argv[1:]))
