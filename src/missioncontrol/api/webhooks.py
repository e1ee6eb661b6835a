"""Alert webhooks on the hot path: one pure ASGI handler in front of FastAPI's routing.

The two webhook routes take thousands of requests a second, one alert each. Through FastAPI's
router, dependency injection, request object and exception middleware a request cost about 1 ms of
CPU before any alert was mapped; `AlertWebhooks` answers `POST /api/v1/alerts/{alertmanager,grafana}`
itself, with the same authentication (`auth.bearer_denial`, `auth.signature_denial`), the same body
limit, the same error bodies and the same commit-before-2xx contract (`accept`), and passes every
other request on. `routes_alerts` still declares both routes, so the OpenAPI document describes
them, and serves them with `accept` too if a request ever reaches the router (e.g. under a root path).
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from missioncontrol.api.admission import AdmissionLimit
from missioncontrol.api.auth import NO_CREDENTIALS, SIGNATURE_HEADER, bearer_denial, signature_denial
from missioncontrol.api.runtime import Runtime
from missioncontrol.domain import Acceptance, AlertProblem, Overloaded

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)
COMMIT_TIMEOUT_S = 10.0
SOURCES = {"/api/v1/alerts/alertmanager": "alertmanager", "/api/v1/alerts/grafana": "grafana"}
_SIGNATURE = SIGNATURE_HEADER.encode()
_JSON = (b"content-type", b"application/json")


@dataclass(frozen=True, slots=True)
class Answer:
    """A webhook's answer: status, JSON body and, for 503, how long to wait before resending."""

    status: int
    body: bytes
    retry_after_s: int | None = None


def _dumps(value: object) -> bytes:
    # The same bytes Starlette's JSONResponse renders, so both paths answer identically.
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _problems(problems: Sequence[AlertProblem]) -> list[dict[str, object]]:
    return [{"index": p.index, "field": p.field, "message": p.message} for p in problems]


def error(
    status: int, detail: str, *, retry_after_s: float | None = None, errors: Sequence[AlertProblem] = ()
) -> Answer:
    """Return an `ErrorOut` answer."""
    wait = None if retry_after_s is None else max(1, round(retry_after_s))
    return Answer(status, _dumps({"detail": detail, "errors": _problems(errors)}), wait)


async def accept(runtime: Runtime, source: str, body: bytes) -> Answer:
    """Map an authenticated webhook body and answer only after its alerts are committed.

    400 when the body is not JSON, 422 when no alert in it could be mapped (each problem names its
    field), 503 + Retry-After when the inbox is full or the commit fails or is late; never a 2xx
    for an alert that is not on disk.
    """
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return error(400, f"body is not valid JSON: {str(exc)[:200]}")
    alerts, problems = runtime.alert_mappers[source](payload, received_at=datetime.now(UTC))
    if not alerts and problems:
        return error(422, f"no alert in the {source} payload could be accepted", errors=problems)
    accepted = 0
    if alerts:
        try:
            future = runtime.inbox.submit(alerts)
        except Overloaded as exc:
            return error(503, str(exc), retry_after_s=exc.retry_after_s)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Acceptance] = loop.create_future()
        future.add_done_callback(lambda done: loop.call_soon_threadsafe(_hand_over, done, waiter))
        # One timer, not `asyncio.timeout`: its context manager was 7 % of the server's CPU at ten
        # alerts per request.
        late = loop.call_later(COMMIT_TIMEOUT_S, _too_late, waiter)
        try:
            acceptance = await waiter
        except _Late:
            return error(503, "the state store did not commit in time; resend (it is safe)", retry_after_s=2)
        except Exception as exc:  # the store failed: nothing is acknowledged, the sender resends
            log.warning("commit of %d %s alerts failed: %s", len(alerts), source, type(exc).__name__)
            return error(503, "the state store is unavailable; resend (it is safe)", retry_after_s=5)
        finally:
            late.cancel()
        accepted = acceptance.accepted
    if not problems:  # the common answer, formatted without a JSON encoder
        return Answer(200, b'{"accepted":%d,"rejected":0,"errors":[]}' % accepted)
    return Answer(
        200, _dumps({"accepted": accepted, "rejected": len(problems), "errors": _problems(problems)})
    )


class _Late(Exception):
    """The commit did not come within `COMMIT_TIMEOUT_S`."""


def _too_late(waiter: "asyncio.Future[Acceptance]") -> None:
    if not waiter.done():  # the commit may still come; it stands, and a resend dedups
        waiter.set_exception(_Late())


def _hand_over(done: "Future[Acceptance]", waiter: "asyncio.Future[Acceptance]") -> None:
    if waiter.done():  # the request stopped waiting (timeout); the commit stands, a resend dedups
        return
    if done.cancelled():
        waiter.cancel()
    elif (exc := done.exception()) is not None:
        waiter.set_exception(exc)
    else:
        waiter.set_result(done.result())


class WebhooksFirst(FastAPI):
    """FastAPI with admission control and the alert webhooks in front of its own middleware stack.

    Even an empty Starlette/FastAPI stack (error, telemetry and body-limit middleware, each wrapping
    `send`; a telemetry check per request) costs a webhook a quarter of its CPU, so `front` takes
    every request first: `AdmissionLimit`, then `AlertWebhooks`, then this app as FastAPI serves it.
    """

    def __init__(self, *, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.front: ASGIApp = AdmissionLimit(
            AlertWebhooks(super().__call__, runtime=runtime), limit=runtime.settings.max_inflight_ingest
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.front(scope, receive, send)


class AlertWebhooks:
    """ASGI middleware answering the alert webhook routes itself; everything else goes to `app`."""

    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = SOURCES.get(scope["path"]) if scope["type"] == "http" else None
        if source is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        answer, challenge = await self._serve(scope, receive, source)
        if answer is None:
            return  # the client went away before its body arrived: nobody to answer
        headers = [_JSON, (b"content-length", b"%d" % len(answer.body))]
        if answer.retry_after_s is not None:
            headers.append((b"retry-after", b"%d" % answer.retry_after_s))
        if challenge:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def _serve(self, scope: Scope, receive: Receive, source: str) -> tuple[Answer | None, bool]:
        runtime = self.runtime
        authorization = signature = length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == _SIGNATURE:
                signature = value.decode("latin-1")
            elif name == b"content-length":
                length = value.decode("latin-1")
        # Who is calling is settled from the headers first, as `auth.require_caller` does.
        if authorization is not None:
            why = bearer_denial(authorization, runtime.api_tokens)
        elif signature is not None:
            why = signature_denial(signature, runtime.settings)
        else:
            why = NO_CREDENTIALS
        if why is not None:
            return error(401, why), True
        limit = runtime.settings.max_body_bytes
        if length is not None:
            if not length.isdigit():
                return error(400, "Content-Length must be a whole number of bytes"), False
            if int(length) > limit:
                return error(413, f"body of {length} bytes is over the limit of {limit} bytes"), False
        body = await _read(receive, limit)
        if body is None:
            return None, False
        if isinstance(body, Answer):
            return body, False
        signed_only = authorization is None and signature is not None
        if signed_only and (why := signature_denial(str(signature), runtime.settings, body)) is not None:
            return error(401, why), True
        return await accept(runtime, source, body), False


async def _read(receive: Receive, limit: int) -> bytes | Answer | None:
    """Return the body, a 413 once it passes `limit` bytes, or None if the client disconnected."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return error(413, f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
