"""Security headers on every answer of the API, and the browser protections of HTML pages.

Every response gets ``X-Content-Type-Options: nosniff``. Every HTML page (any response whose
``Content-Type`` is ``text/html``: the dashboards, the printable statement, the API docs, and
any page added later) also gets a Content-Security-Policy that forbids framing
(``frame-ancestors 'none'``, and ``X-Frame-Options: DENY`` for older browsers), no referrer
and ``Cache-Control: no-store`` (pages show account data). A page that sets its own policy
keeps it; otherwise it gets the dashboards' policy (:data:`dashboards.routes.CSP`). The
interactive docs (``/docs``, ``/redoc``) load Swagger UI and ReDoc from their CDN and start
them with an inline script, so their policy allows those sources and nothing else.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboards.routes import CSP as PAGE_CSP

#: the API docs pages: FastAPI's Swagger UI and ReDoc, from cdn.jsdelivr.net
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)

#: headers of every HTML page besides its Content-Security-Policy
HTML_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SecurityHeadersMiddleware:
    """Adds the headers above to each HTTP response (pure ASGI: streams pass untouched).

    docs_paths : paths served with :data:`DOCS_CSP` instead of the pages' policy
    """

    def __init__(self, app: ASGIApp, *, docs_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path") in self.docs_paths

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if headers.get("content-type", "").startswith("text/html"):
                    csp = DOCS_CSP if docs else PAGE_CSP
                    headers.setdefault("Content-Security-Policy", csp)
                    for name, value in HTML_HEADERS.items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
