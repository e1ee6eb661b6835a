"""Load on loopback: Alertmanager webhooks sent open-loop at a set rate, and what the store kept.

    batches = [alert_batch(run, i * 10, 10) for i in range(1000)]    # (fingerprints, body) each
    outcomes = asyncio.run(send_all(port, token, batches, rate_per_s=300, connections=32, seconds=60))
    acked = {fp for o in outcomes if o.status // 100 == 2 for fp in o.fingerprints}

Requests are written by hand on keep-alive HTTP/1.1 connections so that the generator, not httpx,
is cheap enough to offer several thousand requests a second from the same two cores. A request the
server never answered (killed, reset) has status 0: it was not acknowledged.
"""

import asyncio
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ALERT_PATH = "/api/v1/alerts/alertmanager"


@dataclass(frozen=True, slots=True)
class Batch:
    """One webhook: the fingerprints it carries and its body."""

    fingerprints: tuple[str, ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one request: HTTP status (0: no answer) and its latency."""

    batch: Batch
    status: int
    latency_s: float
    sent_at: float  # monotonic


def alert_batch(
    run: str, first: int, count: int, *, services: int = 40, starts_at: str = "2026-12-02T09:00:00Z"
) -> Batch:
    """Return an Alertmanager v4 webhook with `count` alerts of unique fingerprints `run-<n>`."""
    fingerprints = tuple(f"{run}-{first + k:09d}" for k in range(count))
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": "HighErrorRate",
                "service": f"svc-{(first + k) % services:03d}",
                "severity": "warning",
                "run": run,
            },
            "annotations": {"summary": "error rate above 2 %"},
            "startsAt": starts_at,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": fp,
        }
        for k, fp in enumerate(fingerprints)
    ]
    body = {"version": "4", "status": "firing", "receiver": "load", "groupKey": run, "alerts": alerts}
    return Batch(fingerprints, json.dumps(body, separators=(",", ":")).encode())


def _request(port: int, token: str, body: bytes) -> bytes:
    head = (
        f"POST {ALERT_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_status(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("connection closed before the answer")
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def send_all(
    port: int,
    token: str,
    batches: Sequence[Batch],
    *,
    rate_per_s: float | None,
    connections: int,
    seconds: float | None = None,
    timeout_s: float = 30.0,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Send each batch once (open loop at `rate_per_s`, or as fast as `connections` allow).

    Stops scheduling after `seconds`. Returns one outcome per batch that was sent.
    """
    outcomes: list[Outcome] = []
    started = time.monotonic()
    next_index = 0

    def take() -> int | None:
        nonlocal next_index
        if next_index >= len(batches):
            return None
        if seconds is not None and time.monotonic() - started >= seconds:
            return None
        i = next_index
        next_index += 1
        return i

    async def worker() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while (i := take()) is not None:
            if rate_per_s:
                delay = started + i / rate_per_s - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            batch = batches[i]
            sent = time.monotonic()
            status = 0
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                assert reader is not None
                writer.write(_request(port, token, batch.body))
                status = await asyncio.wait_for(_read_status(reader), timeout_s)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError):
                if writer is not None:
                    writer.close()
                reader = writer = None
            outcome = Outcome(batch, status, time.monotonic() - sent, sent)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return outcomes


def stored_fingerprints(state_db: Path, prefix: str) -> Counter[str]:
    """Return how many alert rows the SQLite state store holds per fingerprint starting with `prefix`."""
    with sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=30) as conn:
        rows = conn.execute(
            "SELECT fingerprint, COUNT(*) FROM alerts WHERE fingerprint LIKE ? GROUP BY fingerprint",
            (prefix + "%",),
        ).fetchall()
    return Counter({fp: int(n) for fp, n in rows})
