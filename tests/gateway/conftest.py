"""Gateway tests: narrow filter for a known leak in the shared fixtures.

tests/servers.py hands Popen a log file object it never closes (a ResourceWarning, an error
under ``filterwarnings = error``); reported to its owner. Only that exact warning is ignored.
"""

from __future__ import annotations

import pytest

_LEAK_FILTERS = (
    "ignore:unclosed file.*(influxd|stdout)\\.log:ResourceWarning",
    "ignore:Exception ignored in.*(influxd|stdout)\\.log:pytest.PytestUnraisableExceptionWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/gateway/" in item.nodeid:
            for f in _LEAK_FILTERS:
                item.add_marker(pytest.mark.filterwarnings(f))
