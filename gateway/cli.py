"""``tanzhang gateway``: run one gateway process until SIGTERM or SIGINT.

Options (besides the ``TANZHANG_*`` settings):

``--http-port N``  port of ``/metrics`` and ``/health`` (default ``TANZHANG_GATEWAY_HTTP_PORT``,
9101; 0 disables the server)
``--mqtt-protocol 5|3.1.1``  MQTT version (default ``TANZHANG_MQTT_PROTOCOL``, 5; 3.1.1 only
for the embedded amqtt broker, where the broker's in-flight window limits batches)

A graceful stop pauses consumption, writes (or spools) and acknowledges every received
message, then disconnects; the persistent session keeps everything after that.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from gateway.service import run

log = logging.getLogger(__name__)


def _parser(settings: Any) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tanzhang gateway", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--http-port",
        type=int,
        default=settings.gateway_http_port,
        help="port of /metrics and /health (0: no HTTP server)",
    )
    p.add_argument("--mqtt-protocol", choices=("5", "3.1.1"), default=settings.mqtt_protocol)
    return p


def main(settings: Any, argv: list[str] | None = None) -> int:
    """Run the gateway in the foreground; returns the process exit code."""
    ns = _parser(settings).parse_args(argv or [])
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per write is noise
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("event=signal signal=%s", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    log.info(
        "event=gateway_settings %s", " ".join(f"{k}={v}" for k, v in settings.describe().items())
    )
    try:
        return run(
            settings,
            stop,
            http_port=ns.http_port or None,
            protocol=ns.mqtt_protocol,
        )
    except ValueError as exc:  # bad MQTT URL, broken registry file, missing settings
        log.error("event=gateway_config_error error=%r", str(exc))
        print(f"tanzhang gateway: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # HTTP port taken, spool folder not writable
        log.error("event=gateway_start_failed error=%r", str(exc))
        print(f"tanzhang gateway: {exc}", file=sys.stderr)
        return 1
