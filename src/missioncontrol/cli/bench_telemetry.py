"""`missionctl bench --telemetry`: spans/s into the telemetry store, read latency, graph_at at scale.

What is timed, and only that:
- ingest: `TelemetryStore.append` of domain spans already built in memory, in batches of 8,192 (a
  Collector's default batch) from one sender, with and without the exporter's trace-id view, and of
  100 (one small OTLP request each) from one and from 32 concurrent senders (group commit);
  decoding OTLP is not included;
- read: `TelemetryStore.read` of a simulated incident's whole 30-minute window (metrics, logs, spans,
  every service), as the investigator asks for it;
- graph_at: `WorldModel.graph_at` on estates of 50/500/5,000 services from the simulator, with an
  hour of calls along every edge of the estate's graph in the store (20 calls per edge, on top of the
  incident's own spans) and every service in the catalog with its dependsOn.
The store is the embedded chDB (the default) in a temporary folder; the state store a temporary SQLite.
"""

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from missioncontrol import bootstrap
from missioncontrol.domain import CatalogEntry, ServiceGraph, ServiceId, Span, Telemetry
from missioncontrol.settings import Settings
from missioncontrol.storage.db import create_db_engine, migrate

SCALES = (50, 500, 5000)
T = TypeVar("T")
CALLS_PER_EDGE = 20
console = Console()


def run(json_out: Path | None, *, ingest_spans: int = 400_000) -> dict[str, Any]:
    """Run the telemetry benchmark, print its table and return (and optionally write) the numbers."""
    report: dict[str, Any] = {"ingest": [], "scales": []}
    with tempfile.TemporaryDirectory(prefix="mc-bench-telemetry-") as folder:
        root = Path(folder)
        with console.status("ingest: spans/s into the store"):
            _ingest(
                root, batch=8192, total=min(ingest_spans, 50_000), senders=1, label="warm-up"
            )  # not reported
            report["ingest"] = [
                _ingest(root, batch=8192, total=ingest_spans, senders=1),
                _ingest(root, batch=8192, total=ingest_spans, senders=1, trace_id_lookup=True),
                _ingest(root, batch=100, total=min(ingest_spans, 20_000), senders=1),
                _ingest(root, batch=100, total=min(ingest_spans, 100_000), senders=32),
            ]
        for n in SCALES:
            with console.status(f"{n} services: simulate, store, read, graph_at"):
                report["scales"].append(_scale(root, n))
    console.print(_table(report))
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=2))
    return report


def _settings(root: Path, database: str) -> Settings:
    return Settings(
        state_dir=root, telemetry_database=database, database_url=f"sqlite:///{root / 'state.db'}"
    )


def _ingest(
    root: Path, *, batch: int, total: int, senders: int, trace_id_lookup: bool = False, label: str = "ingest"
) -> dict[str, Any]:
    """Append `total` spans in batches of `batch` from `senders` threads (concurrent OTLP requests)."""
    settings = _settings(root, f"{label.replace('-', '_')}_{batch}_{senders}_{int(trace_id_lookup)}")
    settings.telemetry_trace_id_lookup = trace_id_lookup
    store = bootstrap.build_telemetry_store(settings)
    start_ns = int(datetime(2026, 12, 2, 9, tzinfo=UTC).timestamp()) * 1_000_000_000
    spans = _synthetic_spans(total, start_ns=start_ns)
    batches = [Telemetry(spans=spans[i : i + batch]) for i in range(0, total, batch)]
    store.append(Telemetry(spans=spans[:10]))  # start the server and create the tables: not timed
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(store.append, batches))
    elapsed = time.perf_counter() - started
    return {
        "batch": batch,
        "senders": senders,
        "trace_id_lookup": trace_id_lookup,
        "spans": total,
        "seconds": round(elapsed, 3),
        "spans_per_s": round(total / elapsed),
    }


def _synthetic_spans(total: int, *, start_ns: int) -> tuple[Span, ...]:
    """Traces of 10 spans over 50 services, one trace starting every millisecond."""
    spans = []
    for i in range(total):
        trace, depth = divmod(i, 10)
        begin = start_ns + trace * 1_000_000 + depth * 1000
        spans.append(
            Span(
                trace_id=f"{trace:032x}",
                span_id=f"{i:016x}",
                parent_span_id=None if depth == 0 else f"{i - 1:016x}",
                service=ServiceId(f"svc-{(trace + depth) % 50}"),
                operation=f"op-{depth}",
                start_ns=begin,
                end_ns=begin + 500_000 - depth * 1000,
                is_error=(i % 97 == 0) if depth else None,
            )
        )
    return tuple(spans)


def _scale(root: Path, n: int) -> dict[str, Any]:
    (labeled,) = bootstrap.scale_cases(n, count=1, with_logs_and_spans=True)
    case = labeled.case
    graph = case.graph or ServiceGraph(edges=frozenset())
    settings = _settings(root, f"scale_{n}")
    store = bootstrap.build_telemetry_store(settings)
    store.append(case.telemetry)
    ends = [s.end_ns for s in case.telemetry.spans] or [0]
    at = datetime.fromtimestamp(max(ends) / 1e9 + 1, UTC)
    store.append(Telemetry(spans=_calls_along(graph, end=at)))
    engine = create_db_engine(f"sqlite:///{root / f'state_{n}.db'}")
    migrate(engine)
    world = bootstrap.build_world_model(settings, engine, store)
    world.record_catalog(
        [CatalogEntry(service=s, depends_on=graph.callees(s)) for s in sorted(graph.services)],
        [],
        at=at - timedelta(days=1),
    )
    window_start = at - timedelta(minutes=30)
    read_s, telemetry = _timed(lambda: store.read(start=window_start, end=at), repeat=3)
    graph_s, built = _timed(lambda: world.graph_at(at), repeat=5)
    engine.dispose()
    return {
        "services": n,
        "spans_stored": len(case.telemetry.spans) + CALLS_PER_EDGE * 2 * len(graph.edges),
        "read_window_s": round(read_s, 3),
        "read_spans": len(telemetry.spans),
        "read_logs": len(telemetry.logs),
        "read_metric_samples": sum(len(m.values) for m in telemetry.metrics),
        "graph_at_s": round(graph_s, 3),
        "graph_edges": len(built.edges),
        "estate_edges": len(graph.edges),
    }


def _calls_along(graph: ServiceGraph, *, end: datetime) -> tuple[Span, ...]:
    """An hour before `end` of calls along every edge: a client span in the caller, a server span below."""
    end_ns = int(end.timestamp()) * 1_000_000_000
    hour_ns = 3600 * 1_000_000_000
    spans: list[Span] = []
    for e, (caller, callee) in enumerate(sorted(graph.edges)):
        for k in range(CALLS_PER_EDGE):
            begin = end_ns - hour_ns + (k * hour_ns) // CALLS_PER_EDGE + e % 1000
            trace = f"{e:016x}{k:016x}"
            spans.append(Span(trace, f"{e:08x}{k:08x}", None, caller, "call", begin, begin + 2_000_000))
            spans.append(
                Span(
                    trace, f"{k:08x}{e:08x}", f"{e:08x}{k:08x}", callee, "serve", begin + 1, begin + 1_000_000
                )
            )
    return tuple(spans)


def _timed(work: Callable[[], T], *, repeat: int) -> tuple[float, T]:
    """Return the median seconds of `repeat` runs of `work`, and its last result."""
    times = []
    result = work()  # warm: caches and the first query plan are not what we report
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _table(report: dict[str, Any]) -> Table:
    table = Table(title="Telemetry store and world model (embedded chDB, SQLite state)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("detail")
    for row in report["ingest"]:
        table.add_row(
            f"ingest, batches of {row['batch']:,} from {row['senders']} sender(s)"
            + (", with the trace-id view" if row["trace_id_lookup"] else ""),
            f"{row['spans_per_s']:,} spans/s",
            f"{row['spans']:,} spans in {row['seconds']} s",
        )
    for row in report["scales"]:
        n = row["services"]
        table.add_row(
            f"read 30-min window, {n:,} services",
            f"{row['read_window_s']:.3f} s",
            f"{row['read_spans']:,} spans, {row['read_logs']:,} logs, {row['read_metric_samples']:,} samples",
        )
        table.add_row(
            f"graph_at, {n:,} services",
            f"{row['graph_at_s']:.3f} s",
            f"{row['graph_edges']:,} edges from {row['spans_stored']:,} stored spans + catalog",
        )
    return table
