"""``/metrics`` (Prometheus text format) and ``/health`` (JSON) on one small HTTP server.

``/health`` answers 200 while the gateway does its job (``ok``, or ``degraded``: spooling
because the store is down, or reconnecting to the broker) and 503 when it fails (``failing``:
a non-retryable store error, messages stay unacknowledged). Body: see
:meth:`gateway.agent.Agent.health`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)


class HttpServer:
    """Serve ``/metrics`` and ``/health`` on ``host:port`` (port 0: any free port)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        health: Callable[[], dict[str, Any]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        metrics_registry = registry
        health_fn = health

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body, ctype, code = generate_latest(metrics_registry), CONTENT_TYPE_LATEST, 200
                elif path in ("/health", "/healthz"):
                    doc = health_fn()
                    code = 503 if doc.get("status") == "failing" else 200
                    body, ctype = json.dumps(doc).encode(), "application/json"
                else:
                    body, ctype, code = b"not found: try /metrics or /health\n", "text/plain", 404
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("event=http_request " + format, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="gateway-http", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()
        log.info("event=http_listening url=%s paths=/metrics,/health", self.url)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
