"""The alert webhooks' hot path (`api/webhooks.py`), driven as ASGI: it must answer exactly as the
documented FastAPI routes do, authenticate every request, bound the body and never answer 2xx for
an alert that is not committed."""

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from tests.api.conftest import TOKEN, make_settings
from tests.api.test_alerts import am_alert, payload, signed

from missioncontrol import bootstrap
from missioncontrol.api import webhooks
from missioncontrol.api.app import create_app
from missioncontrol.api.runtime import Runtime
from missioncontrol.api.webhooks import WebhooksFirst
from missioncontrol.domain import Acceptance, Alert, Overloaded

AM = "/api/v1/alerts/alertmanager"
BEARER = (b"authorization", f"Bearer {TOKEN}".encode())
Reply = tuple[int, dict[bytes, bytes], bytes]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[WebhooksFirst]:
    runtime = bootstrap.build_runtime(
        make_settings(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", run_worker=False, max_body_bytes=2000)
    )
    built = create_app(runtime)
    assert isinstance(built, WebhooksFirst)
    for start in runtime.on_start:
        start()
    yield built
    for stop in reversed(runtime.on_stop):
        stop()


def _runtime(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


def call(
    app: Any,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    *,
    path: str = AM,
    chunks: list[bytes] | None = None,
    disconnect: bool = False,
) -> Reply | None:
    """Send one request through `app` as an ASGI server would; return status, headers and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }
    parts = chunks if chunks is not None else [body]
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": c, "more_body": i < len(parts) - 1} for i, c in enumerate(parts)
    ]
    if disconnect:
        incoming = [{"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    if not sent:
        return None
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def through_router(app: WebhooksFirst, body: bytes, headers: list[tuple[bytes, bytes]]) -> Reply | None:
    """The same request served by FastAPI's own stack and the documented route, not the hot path."""
    return call(lambda s, r, w: FastAPI.__call__(app, s, r, w), body, headers)


def test_the_hot_path_answers_exactly_as_the_documented_route(app: WebhooksFirst) -> None:
    good = json.dumps(payload(am_alert("same-1"))).encode()
    half = json.dumps(payload(am_alert("same-2"), am_alert("bad", starts="yesterday"))).encode()
    cases = {
        "accepted": (good, [BEARER]),
        "partly rejected": (half, [BEARER]),
        "not JSON": (b"{nope", [BEARER]),
        "nothing mappable": (json.dumps({"version": "4"}).encode(), [BEARER]),
        "no credentials": (good, []),
        "wrong token": (good, [(b"authorization", b"Bearer nope")]),
        "declared too large": (good, [BEARER, (b"content-length", b"5000")]),
        "length not a number": (good, [BEARER, (b"content-length", b"12x")]),
    }
    for why, (body, headers) in cases.items():
        fast, slow = call(app, body, headers), through_router(app, body, headers)
        assert fast is not None and slow is not None, why
        assert fast[0] == slow[0], why
        assert json.loads(fast[2]) == json.loads(slow[2]), why
        assert fast[1].get(b"www-authenticate") == slow[1].get(b"www-authenticate"), why
        assert fast[1][b"content-type"] == b"application/json", why
    assert call(app, b"{nope", [BEARER])[0] == 400  # type: ignore[index]


def test_a_body_that_grows_past_the_limit_is_refused_without_a_declared_length(app: WebhooksFirst) -> None:
    reply = call(app, b"", [BEARER], chunks=[b"x" * 1200, b"x" * 1200])
    assert reply is not None and reply[0] == 413
    assert json.loads(reply[2]) == {"detail": "body is over the limit of 2000 bytes", "errors": []}
    assert _runtime(app).incidents.count_alerts() == 0  # type: ignore[attr-defined]


def test_a_signed_body_is_checked_against_the_bytes_that_arrived(app: WebhooksFirst) -> None:
    body = json.dumps(payload(am_alert("signed"))).encode()
    header = signed(body, at=int(time.time())).encode()
    tampered = call(app, body.replace(b"signed", b"forged"), [(b"x-missioncontrol-signature", header)])
    assert tampered is not None and tampered[0] == 401
    assert tampered[1][b"www-authenticate"] == b"Bearer"
    ok = call(app, b"", [(b"x-missioncontrol-signature", header)], chunks=[body[:10], body[10:]])
    assert ok is not None and ok[0] == 200 and json.loads(ok[2])["accepted"] == 1


def test_a_client_gone_before_its_body_gets_no_answer_and_nothing_is_written(app: WebhooksFirst) -> None:
    assert call(app, b"", [BEARER], disconnect=True) is None
    assert _runtime(app).incidents.count_alerts() == 0  # type: ignore[attr-defined]


class _FailingInbox:
    def __init__(self, outcome: str) -> None:
        self.outcome = outcome

    def submit(self, alerts: list[Alert]) -> "Future[Acceptance]":
        if self.outcome == "full":
            raise Overloaded("7 alerts are waiting for the store (limit 5)", retry_after_s=3)
        future: Future[Acceptance] = Future()
        future.set_exception(OSError("disk gone"))
        return future


@pytest.mark.parametrize(("outcome", "retry_after"), [("full", b"3"), ("store fails", b"5")])
def test_overload_and_a_failed_commit_are_503_with_retry_after_never_2xx(
    app: WebhooksFirst, outcome: str, retry_after: bytes
) -> None:
    _runtime(app).inbox = _FailingInbox(outcome)
    reply = call(app, json.dumps(payload(am_alert("x"))).encode(), [BEARER])
    assert reply is not None and reply[0] == 503
    assert reply[1][b"retry-after"] == retry_after
    assert "resend" in json.loads(reply[2])["detail"] or "waiting" in json.loads(reply[2])["detail"]


class _SilentInbox:
    def submit(self, alerts: list[Alert]) -> "Future[Acceptance]":
        return Future()  # never committed, never failed


def test_a_commit_that_does_not_come_in_time_is_503_never_2xx(
    app: WebhooksFirst, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "COMMIT_TIMEOUT_S", 0.05)
    _runtime(app).inbox = _SilentInbox()
    reply = call(app, json.dumps(payload(am_alert("x"))).encode(), [BEARER])
    assert reply is not None and reply[0] == 503 and reply[1][b"retry-after"] == b"2"
    assert "did not commit in time" in json.loads(reply[2])["detail"]


def test_requests_committed_together_each_get_their_own_answer(app: WebhooksFirst) -> None:
    """One group commit settles many requests at once; each gets the answer for its own alerts."""
    scope_headers = [BEARER]
    bodies = [
        json.dumps(payload(*[am_alert(f"r{i}-{k}") for k in range(i % 3 + 1)])).encode() for i in range(60)
    ]

    async def one(body: bytes) -> tuple[int, bytes]:
        sent: list[dict[str, Any]] = []
        incoming = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return incoming.pop(0) if incoming else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": AM, "headers": scope_headers}
        await app(scope, receive, send)
        return sent[0]["status"], sent[1]["body"]

    async def all_at_once() -> list[tuple[int, bytes]]:
        return await asyncio.gather(*(one(b) for b in bodies))

    replies = asyncio.run(all_at_once())
    assert [status for status, _ in replies] == [200] * 60
    assert [json.loads(body)["accepted"] for _, body in replies] == [i % 3 + 1 for i in range(60)]
    assert _runtime(app).incidents.count_alerts() == sum(i % 3 + 1 for i in range(60))  # type: ignore[attr-defined]


def test_other_methods_and_paths_go_to_the_router(app: WebhooksFirst) -> None:
    assert call(app, b"", [BEARER], path="/api/v1/alerts/alertmanager/")[0] in (307, 404, 405)  # type: ignore[index]
    health = call(app, b"", [], path="/healthz")
    assert health is not None and health[0] == 405  # /healthz is GET only: the router said so
