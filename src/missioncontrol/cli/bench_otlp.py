"""`missionctl bench --otlp`: OTLP/HTTP spans per second into the world model, through the live service.

What is timed:
- http: protobuf ExportTraceServiceRequest bodies POSTed to `/v1/traces` of the real app (uvicorn on a
  loopback port, bearer token, the default embedded chDB store), by a few concurrent senders as a
  Collector's `otlphttp` exporter would (its batch processor sends 8,192 spans a request by default).
  The clock runs from the first request to the last 200; every answer must be a full success, and
  every span must then be readable through `TelemetryStore.read` (the count is checked, not assumed);
- decode: the same bodies decoded and mapped to domain spans in-process, no HTTP and no store;
- decode + append: decode, then `TelemetryStore.append`, in-process, one body after another.
Bodies are built before the clock starts: 20 services, traces of 8 spans (a root and a chain of 7).
"""

import json
import logging
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from missioncontrol import bootstrap
from missioncontrol.api.app import create_app
from missioncontrol.api.runtime import Runtime
from missioncontrol.settings import Settings

SERVICES = 20
TRACE_DEPTH = 8
console = Console()


def build_bodies(total_spans: int, *, batch: int, start_ns: int, seed: int = 7) -> list[bytes]:
    """Return protobuf ExportTraceServiceRequest bodies holding `total_spans` spans, `batch` per body."""
    rng = _Ids(seed)
    bodies = []
    made = 0
    while made < total_spans:
        size = min(batch, total_spans - made)
        request = ExportTraceServiceRequest()
        by_service = []
        for s in range(SERVICES):
            resource_spans = request.resource_spans.add()
            attribute = resource_spans.resource.attributes.add()
            attribute.key, attribute.value.string_value = "service.name", f"svc-{s:02d}"
            by_service.append(resource_spans.scope_spans.add())
        for i in range(size):
            depth = (made + i) % TRACE_DEPTH
            if depth == 0:
                trace_id, parent = rng.trace(), b""
            span = by_service[(made + i) % SERVICES].spans.add()
            span.trace_id, span.span_id, span.parent_span_id = trace_id, rng.span(), parent
            span.name = f"op-{depth}"
            span.kind = PbSpan.SPAN_KIND_SERVER if depth == 0 else PbSpan.SPAN_KIND_CLIENT
            span.start_time_unix_nano = start_ns + (made + i) * 1_000
            span.end_time_unix_nano = span.start_time_unix_nano + 5_000_000
            if (made + i) % 97 == 0:
                span.status.code = Status.STATUS_CODE_ERROR
            parent = span.span_id
        bodies.append(request.SerializeToString())
        made += size
    return bodies


class _Ids:
    def __init__(self, seed: int) -> None:
        self.n = seed * 1_000_003

    def trace(self) -> bytes:
        self.n += 1
        return self.n.to_bytes(16, "big")

    def span(self) -> bytes:
        self.n += 1
        return (self.n | 1 << 62).to_bytes(8, "big")


def _serve(runtime: Runtime) -> tuple[uvicorn.Server, threading.Thread, str]:
    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start within 30 s")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def run(
    json_out: Path | None, *, spans: int = 400_000, batch: int = 8192, senders: int = 4
) -> dict[str, Any]:
    """Run the OTLP benchmark, print its table, and return (and optionally write) the numbers."""
    for noisy in ("httpx", "mcp", "uvicorn.access"):  # one line per request would drown the table
        logging.getLogger(noisy).setLevel(logging.WARNING)
    start_ns = time.time_ns() - 60 * 1_000_000_000
    bodies = build_bodies(spans, batch=batch, start_ns=start_ns)
    report: dict[str, Any] = {"spans": spans, "batch": batch, "senders": senders, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="mc-bench-otlp-") as folder:
        token = "bench-otlp-token"
        settings = Settings(state_dir=Path(folder) / "state", api_tokens=[SecretStr(token)], connectors={})
        runtime = bootstrap.build_runtime(settings)
        ingest = runtime.ingest
        if ingest is None:
            raise RuntimeError("build_runtime gave no ingest mappings")
        if runtime.telemetry is None:
            runtime.telemetry = bootstrap.build_telemetry_store(settings)
        store = runtime.telemetry

        started = time.perf_counter()
        decoded = sum(len(ingest.decode_otlp("traces", body, False)[0].spans) for body in bodies)
        report["decode_spans_per_s"] = decoded / (time.perf_counter() - started)

        server, thread, base = _serve(runtime)
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()

        def send(chunk: list[bytes]) -> None:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-protobuf"}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                for body in chunk:
                    sent = time.perf_counter()
                    response = client.post("/v1/traces", content=body)
                    took = time.perf_counter() - sent
                    with lock:
                        latencies.append(took)
                        if response.status_code != 200 or response.content:
                            failures.append(f"HTTP {response.status_code} {response.content[:200]!r}")

        try:
            chunks = [bodies[i::senders] for i in range(senders)]
            load_before = os.getloadavg()[0]
            started, cpu_started = time.perf_counter(), time.process_time()
            with ThreadPoolExecutor(senders) as pool:
                list(pool.map(send, chunks))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        finally:
            server.should_exit = True
            thread.join(timeout=60)
        now = datetime.now(UTC)
        readable = len(store.read(start=now - timedelta(hours=1), end=now + timedelta(minutes=1)).spans)
        report["http"] = {
            "spans_per_s": spans / elapsed,
            "seconds": elapsed,
            # CPU seconds of this process (server, senders and chDB's threads) and the machine's load:
            # on a shared machine the wall clock says as much about the neighbours as about us.
            "cpu_seconds": cpu,
            "load_average_1m": load_before,
            "requests": len(bodies),
            "request_p50_ms": statistics.median(latencies) * 1000,
            "request_p99_ms": sorted(latencies)[int(0.99 * (len(latencies) - 1))] * 1000,
            "failures": failures[:5],
            "readable_spans": readable,
        }

        # In-process, on a fresh store, so the HTTP run's spans do not weigh on it.
        inner = Settings(state_dir=Path(folder) / "inner", connectors={})
        inner_store = bootstrap.build_telemetry_store(inner)
        close = getattr(store, "close", None)
        if close is not None:
            close()
        started = time.perf_counter()
        for body in bodies:
            inner_store.append(ingest.decode_otlp("traces", body, False)[0])
        report["decode_append_spans_per_s"] = spans / (time.perf_counter() - started)
        inner_close = getattr(inner_store, "close", None)
        if inner_close is not None:
            inner_close()
    _print(report)
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=2))
    return report


def _print(report: dict[str, Any]) -> None:
    http = report["http"]
    table = Table(title=f"OTLP/HTTP ingest: {report['spans']:,} spans, {report['batch']:,} per request")
    table.add_column("path")
    table.add_column("spans/s", justify="right")
    table.add_column("notes")
    table.add_row(
        f"HTTP /v1/traces → chDB ({report['senders']} senders)",
        f"{http['spans_per_s']:,.0f}",
        f"{http['requests']} requests, p50 {http['request_p50_ms']:.0f} ms, "
        f"p99 {http['request_p99_ms']:.0f} ms; {http['readable_spans']:,} read back; "
        f"{len(http['failures'])} failures; {http['cpu_seconds']:.1f} CPU s; "
        f"load {http['load_average_1m']:.1f}",
    )
    table.add_row("decode + append, in-process", f"{report['decode_append_spans_per_s']:,.0f}", "no HTTP")
    table.add_row("decode only (protobuf → domain spans)", f"{report['decode_spans_per_s']:,.0f}", "no store")
    console.print(table)
