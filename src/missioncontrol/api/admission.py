"""Admission control: past a bound of ingest requests in flight, answer 503 + Retry-After at once.

Overload must be shed, not queued: when requests arrive faster than the server parses, maps and
commits them, each extra one waiting in the event loop adds latency and memory and is acknowledged
late or not at all. This pure ASGI middleware counts the ingest requests being served (alert
webhooks, OTLP, changes, catalog) and refuses the one over `limit` before reading its body, so the
accepted ones keep their latency and the sender retries the rest (resending is always safe).
"""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

INGEST_PREFIXES = ("/api/v1/alerts/", "/api/v1/changes/", "/api/v1/catalog/", "/v1/")
SHED_BODY = (
    b'{"detail":"overloaded: too many ingest requests in flight; resend after Retry-After (it is safe)",'
    b'"errors":[]}'
)


class AdmissionLimit:
    """ASGI middleware: at most `limit` ingest requests in flight; the rest get 503 with Retry-After."""

    def __init__(self, app: ASGIApp, *, limit: int, retry_after_s: int = 1) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = str(retry_after_s).encode()
        self.in_flight = 0  # one event loop: no lock needed
        self.shed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or not str(scope["path"]).startswith(INGEST_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.shed += 1
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", self.retry_after),
                        (b"content-length", str(len(SHED_BODY)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": SHED_BODY})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
