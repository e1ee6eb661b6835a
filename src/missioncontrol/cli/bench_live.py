"""`missionctl bench --ingest`: durable alert ingest measured over loopback HTTP.

The server runs as its own process (`serve` with a fresh SQLite state store, synchronous=FULL), so
the load generator does not share its interpreter. The generator keeps `connections` HTTP/1.1
keep-alive connections busy with Alertmanager webhooks, one or ten alerts per request, and reports
accepted alerts per second and request latency percentiles. Afterwards it counts the stored rows:
every acknowledged alert must be there.
"""

import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.table import Table

TOKEN = "bench-token"
# The child processes get their settings as JSON on the command line, not through the environment.
SERVER = (
    "import json, sys, uvicorn; from missioncontrol import bootstrap; "
    "from missioncontrol.api.app import create_app; from missioncontrol.settings import Settings; "
    "settings = Settings(**json.loads(sys.argv[2])); "
    "uvicorn.run(create_app(bootstrap.build_runtime(settings)), host='127.0.0.1', port=int(sys.argv[1]), "
    "log_level='error', access_log=False)"
)
# The worker as `missionctl worker` runs it (its own process, at the configured niceness).
WORKER = (
    "import json, sys; from missioncontrol.cli.serve import run_worker; "
    "from missioncontrol.settings import Settings; run_worker(Settings(**json.loads(sys.argv[1])))"
)


@dataclass(frozen=True, slots=True)
class IngestResult:
    alerts_per_request: int
    requests: int
    accepted_alerts: int
    shed_requests: int  # 503 / 429 answers
    failed_requests: int  # anything else that was not a 200
    seconds: float
    alerts_per_s: float
    p50_ms: float
    p99_ms: float
    stored_alerts: int
    server_cpu_s: float  # CPU the service used during the timed run: every process and thread of it
    alerts_per_cpu_s: float  # accepted alerts per server CPU-second: what one dedicated core would take
    load_average: float  # the machine's 1-minute load when the run ended: other work competing
    client_cpu_s: float = 0.0  # CPU the load generator used: it shares the machine with the server
    # Server CPU from the start of the run until the worker had grouped every alert of it, and the
    # alerts per CPU-second that makes: ingest and grouping paid in full (investigations in part).
    grouped_cpu_s: float = 0.0
    alerts_per_grouped_cpu_s: float = 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _request(port: int, body: bytes) -> bytes:
    head = (
        f"POST /api/v1/alerts/alertmanager HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _payload(first: int, count: int, services: int) -> bytes:
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": "HighErrorRate",
                "service": f"svc-{(first + k) % services}",
                "severity": "warning",
            },
            "annotations": {"summary": "error rate above 2 %"},
            "startsAt": "2026-12-02T09:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": f"bench-{first + k:09d}",
        }
        for k in range(count)
    ]
    return json.dumps({"version": "4", "status": "firing", "receiver": "bench", "alerts": alerts}).encode()


async def _connection(
    port: int, queue: "asyncio.Queue[bytes]", latencies: list[float], codes: dict[int, int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            code = int(status_line.split()[1])
            codes[code] = codes.get(code, 0) + 1
    finally:
        writer.close()


async def _drive(
    port: int, requests: list[bytes], connections: int
) -> tuple[list[float], dict[int, int], float]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    latencies: list[float] = []
    codes: dict[int, int] = {}
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, queue, latencies, codes) for _ in range(connections)))
    return latencies, codes, time.perf_counter() - started


def _cpu_s(*pids: int) -> float:
    """Return the CPU seconds used so far by these processes and every live child of theirs."""
    total = 0.0
    for pid in pids:
        root = psutil.Process(pid)
        for p in [root, *root.children(recursive=True)]:
            try:
                times = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def _own_cpu_s() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def _settings(state: Path, *, run_worker: bool) -> str:
    return json.dumps(
        {"state_dir": str(state), "api_tokens": [TOKEN], "run_worker": run_worker, "database_url": None}
    )


def _start_server(state: Path, port: int, *, split_worker: bool) -> subprocess.Popen[bytes]:
    settings = _settings(state, run_worker=not split_worker)
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), settings])
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start (exit code {proc.poll()})")
        time.sleep(0.2)


def _wait_grouped(db: Path, timeout_s: float = 60.0) -> None:
    """Wait until the worker has grouped the warm-up alerts: its first pass pays one-time costs
    (imports, the first call-graph read) that a long-running server does not pay per alert."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with closing(sqlite3.connect(db, timeout=30)) as conn:
            if conn.execute("SELECT count(*) FROM alerts WHERE is_processed = 0").fetchone()[0] == 0:
                return
        time.sleep(0.1)


def run_ingest_bench(
    *,
    alerts: int = 30_000,
    connections: int = 64,
    per_request: tuple[int, ...] = (1, 10),
    services: int = 50,
    split_worker: bool = False,
) -> list[IngestResult]:
    """Measure durable ingest at each batch size on a fresh server; return one result per size.

    With `split_worker` the server runs `--no-worker` and `missionctl worker` groups and investigates
    in its own process, as a production deployment would; otherwise both share one process. Server
    CPU counts the split worker too: what the service cost, not one of its processes.
    """
    results: list[IngestResult] = []
    for size in per_request:
        with tempfile.TemporaryDirectory(prefix="mc-bench-ingest-") as tmp:
            state, port = Path(tmp) / "state", _free_port()
            proc = _start_server(state, port, split_worker=split_worker)
            worker = (
                subprocess.Popen([sys.executable, "-c", WORKER, _settings(state, run_worker=True)])
                if split_worker
                else None
            )
            try:
                warm = [_request(port, _payload(10**8 + i * size, size, services)) for i in range(200)]
                asyncio.run(_drive(port, warm, connections))
                _wait_grouped(state / "state.db")
                count = max(1, alerts // size)
                requests = [_request(port, _payload(i * size, size, services)) for i in range(count)]
                service = (proc.pid,) if worker is None else (proc.pid, worker.pid)
                before, client_before = _cpu_s(*service), _own_cpu_s()
                latencies, codes, seconds = asyncio.run(_drive(port, requests, connections))
                cpu, client_cpu = _cpu_s(*service) - before, _own_cpu_s() - client_before
                _wait_grouped(state / "state.db")  # the worker may still be grouping what was sent
                cpu_grouped = _cpu_s(*service) - before
            finally:
                for p in (proc, worker):
                    if p is not None:
                        p.terminate()
                        p.wait(timeout=60)
            with sqlite3.connect(state / "state.db") as conn:
                stored = conn.execute("SELECT count(*) FROM alerts WHERE fingerprint < 'bench-1'").fetchone()[
                    0
                ]
            ok = codes.get(200, 0)
            shed = codes.get(503, 0) + codes.get(429, 0)
            ordered = sorted(latencies)
            results.append(
                IngestResult(
                    alerts_per_request=size,
                    requests=count,
                    accepted_alerts=ok * size,
                    shed_requests=shed,
                    failed_requests=count - ok - shed,
                    seconds=round(seconds, 3),
                    alerts_per_s=round(ok * size / seconds, 1),
                    p50_ms=round(statistics.median(ordered) * 1000, 2),
                    p99_ms=round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
                    stored_alerts=stored,
                    server_cpu_s=round(cpu, 2),
                    alerts_per_cpu_s=round(ok * size / cpu, 1) if cpu > 0 else 0.0,
                    load_average=round(os.getloadavg()[0], 2),
                    client_cpu_s=round(client_cpu, 2),
                    grouped_cpu_s=round(cpu_grouped, 2),
                    alerts_per_grouped_cpu_s=round(ok * size / cpu_grouped, 1) if cpu_grouped > 0 else 0.0,
                )
            )
    return results


def run(json_out: Path | None, *, alerts: int, connections: int, split_worker: bool) -> None:
    """Run the ingest benchmark and print (and optionally write) its table."""
    console = Console()
    results = run_ingest_bench(alerts=alerts, connections=connections, split_worker=split_worker)
    where = "worker in its own process" if split_worker else "worker in the server process"
    table = Table(
        title=f"Durable alert ingest (SQLite, synchronous=FULL, {connections} connections, {where})"
    )
    for column in (
        "alerts/request",
        "requests",
        "accepted",
        "shed",
        "failed",
        "alerts/s",
        "p50 ms",
        "p99 ms",
        "stored",
        "alerts/CPU-s",
        "… grouped",
        "client CPU-s",
        "load",
    ):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            str(r.alerts_per_request),
            str(r.requests),
            str(r.accepted_alerts),
            str(r.shed_requests),
            str(r.failed_requests),
            f"{r.alerts_per_s:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            str(r.stored_alerts),
            f"{r.alerts_per_cpu_s:,.0f}",
            f"{r.alerts_per_grouped_cpu_s:,.0f}",
            f"{r.client_cpu_s:.1f}",
            f"{r.load_average:.1f}",
        )
    console.print(table)
    lost = [r for r in results if r.stored_alerts < r.accepted_alerts]
    if lost:
        console.print(f"[red]acknowledged alerts missing from the store: {lost}[/]")
    if json_out is not None:
        json_out.write_text(json.dumps([asdict(r) for r in results], indent=2))
