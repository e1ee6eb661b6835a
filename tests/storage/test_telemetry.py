"""The telemetry store: the OTel ClickHouse exporter's tables in chDB; what goes in comes out.

There is no ClickHouse server on this machine. `ClickHouseTelemetryStore` is tested through its
query construction only: a stand-in for the clickhouse-connect client binds each query with
clickhouse-connect's own `bind_query` (exactly the text and `param_*` values the driver would send to a
server) and runs the result in chDB, so the SQL a cluster would receive is executed for real.
"""

import gc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from clickhouse_connect.driver.binding import bind_query

from missioncontrol.domain import LogRecord, MetricSeries, ServiceId, Span, Telemetry
from missioncontrol.storage import otel_rows, otel_schema
from missioncontrol.storage import telemetry as telemetry_module
from missioncontrol.storage.otel_rows import from_log_rows, from_span_rows, ordered_once
from missioncontrol.storage.telemetry import (
    EMBEDDED_QUERY_SETTINGS,
    EMBEDDED_SERVER_SETTINGS,
    ChdbTelemetryStore,
    ClickHouseTelemetryStore,
    TelemetryStoreError,
    chdb_parameter,
)

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
NS = 1_000_000_000


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbTelemetryStore]:
    """One chDB store per module (start-up and DDL cost once); tests use disjoint hours and services."""
    with ChdbTelemetryStore(tmp_path_factory.mktemp("chdb"), trace_id_lookup=True) as opened:
        yield opened


def at(hour: int, second: float = 0.0) -> datetime:
    return T0 + timedelta(hours=hour, seconds=second)


def ns(hour: int, second: float = 0.0) -> int:
    return int(at(hour).timestamp()) * NS + round(second * NS)


def span(trace: str, sid: str, parent: str | None, service: str, start_ns: int, **kw: Any) -> Span:
    return Span(
        trace_id=trace,
        span_id=sid,
        parent_span_id=parent,
        service=ServiceId(service),
        operation=kw.get("operation", "GET /"),
        start_ns=start_ns,
        end_ns=start_ns + kw.get("duration_ns", 2_500_000),
        is_error=kw.get("is_error"),
    )


def sample(hour: int, prefix: str) -> Telemetry:
    """A small estate's telemetry within one hour: spans, logs and metrics with awkward values."""
    spans = (
        span("a" * 32, "0000000000000001", None, f"{prefix}-front", ns(hour, 1), is_error=None),
        span(
            "a" * 32,
            "0000000000000002",
            "0000000000000001",
            f"{prefix}-cart",
            ns(hour, 1.001),
            is_error=False,
        ),
        span(
            "a" * 32,
            "0000000000000003",
            "0000000000000002",
            f"{prefix}-db",
            ns(hour, 1.002) + 7,
            is_error=True,
        ),
        span("b" * 32, "0000000000000004", None, f"{prefix}-front", ns(hour, 30), operation="POST /pay 'x'"),
    )
    logs = (
        LogRecord(
            at(hour, 1.25).timestamp(), ServiceId(f"{prefix}-cart"), "cart ok", "INFO", "a" * 32, "2" * 16
        ),
        LogRecord(
            at(hour, 2.5).timestamp(), ServiceId(f"{prefix}-db"), "deadlock, tx 'q' \\ aborted", "ERROR"
        ),
        LogRecord(
            at(hour, 2.5).timestamp(), ServiceId(f"{prefix}-db"), "deadlock, tx 'q' \\ aborted", "WARN"
        ),
    )
    metrics = (
        MetricSeries(
            ServiceId(f"{prefix}-db"),
            "cpu_usage",
            tuple(at(hour, 15 * i).timestamp() for i in range(4)),
            (0.5, 0.75, float("inf"), -1e-9),
        ),
        MetricSeries(ServiceId(f"{prefix}-cart"), "http_requests_total", (at(hour, 3).timestamp(),), (42.0,)),
    )
    return Telemetry(metrics=metrics, logs=logs, spans=spans)


def canonical(telemetry: Telemetry) -> tuple[set[Span], set[LogRecord], set[MetricSeries]]:
    return set(telemetry.spans), set(telemetry.logs), set(telemetry.metrics)


def test_what_goes_in_comes_out(store: ChdbTelemetryStore) -> None:
    written = sample(0, "rt")
    store.append(written)
    read = store.read(start=at(0), end=at(1))
    assert canonical(read) == canonical(written)
    assert [s.start_ns for s in read.spans] == sorted(s.start_ns for s in written.spans)


def test_a_resent_batch_is_read_once(store: ChdbTelemetryStore) -> None:
    written = sample(1, "resend")
    store.append(written)
    store.append(written)
    read = store.read(start=at(1), end=at(2))
    assert len(read.spans) == len(written.spans)
    assert len(read.logs) == len(written.logs)
    assert canonical(read) == canonical(written)


def test_the_window_is_half_open_and_filters_services(store: ChdbTelemetryStore) -> None:
    store.append(sample(2, "win"))
    edge = Telemetry(spans=(span("c" * 32, "5" * 16, None, "win-front", ns(3)),))
    store.append(edge)
    inside = store.read(start=at(2), end=at(3))
    assert {s.span_id for s in inside.spans} == {
        "0000000000000001",
        "0000000000000002",
        "0000000000000003",
        "0000000000000004",
    }
    only_db = store.read(start=at(2), end=at(3), services=[ServiceId("win-db")])
    assert only_db.services == {"win-db"}
    assert [s.span_id for s in only_db.spans] == ["0000000000000003"]
    assert {m.metric for m in only_db.metrics} == {"cpu_usage"}
    assert len(only_db.logs) == 2
    assert store.read(start=at(2), end=at(3), services=[ServiceId("nobody")]) == Telemetry()


def test_call_edges_are_parent_child_spans_in_different_services(store: ChdbTelemetryStore) -> None:
    trace = "d" * 32
    spans = (
        span(trace, "1" * 16, None, "edge-front", ns(4, 1)),
        span(trace, "2" * 16, "1" * 16, "edge-front", ns(4, 2)),  # same service: not a call
        span(trace, "3" * 16, "2" * 16, "edge-cart", ns(4, 3)),
        span(trace, "4" * 16, "2" * 16, "edge-cart", ns(4, 4)),
        span(trace, "5" * 16, "3" * 16, "edge-db", ns(4, 5)),
        span(trace, "6" * 16, "3" * 16, "edge-db", ns(5, 1)),  # after the window
        span(trace, "7" * 16, "unknown-parent", "edge-db", ns(4, 6)),  # parent never seen
    )
    store.append(Telemetry(spans=spans))
    store.append(Telemetry(spans=spans[2:3]))  # a resent call is counted once
    edges = store.call_edges(at(4), at(5))
    assert edges == {("edge-front", "edge-cart"): 2, ("edge-cart", "edge-db"): 1}


def test_a_parent_that_started_before_the_window_still_counts(store: ChdbTelemetryStore) -> None:
    trace = "e" * 32
    store.append(
        Telemetry(
            spans=(
                span(trace, "1" * 16, None, "slack-front", ns(6, 3590), duration_ns=20 * NS),
                span(trace, "2" * 16, "1" * 16, "slack-cart", ns(7, 2)),
            )
        )
    )
    assert store.call_edges(at(7), at(8)) == {("slack-front", "slack-cart"): 1}
    assert store.call_edges(at(7), at(8), parent_slack_s=1) == {}


def test_points_with_attributes_and_sums_are_series_of_their_own(store: ChdbTelemetryStore) -> None:
    # Rows as a stock Collector writes them: attributes on the points, a monotonic sum.
    for table, extra in ((otel_schema.METRICS_GAUGE, ""), (otel_schema.METRICS_SUM, ", IsMonotonic")):
        store._command(
            f'INSERT INTO "otel"."{table}" '
            f"(ServiceName, MetricName, Attributes, TimeUnix, Value{extra}) VALUES "
            f"('attr-api', 'http_requests', map('code', '500', 'method', 'GET'), "
            f"fromUnixTimestamp64Nano({ns(8, 1)}), 3{', true' if extra else ''}), "
            f"('attr-api', 'http_requests', map('code', '200'), fromUnixTimestamp64Nano({ns(8, 1)}), 90"
            f"{', true' if extra else ''})"
        )
    read = store.read(start=at(8), end=at(9))
    names = sorted(m.metric for m in read.metrics)
    assert names == ['http_requests{code="200"}', 'http_requests{code="500",method="GET"}']
    assert all(m.values in ((3.0,), (90.0,)) for m in read.metrics)


def test_the_tables_are_the_exporters(store: ChdbTelemetryStore) -> None:
    tables = store._select(
        "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name", {"db": "otel"}
    )
    assert tables.column("name").to_pylist() == sorted(
        [
            "otel_logs",
            "otel_metrics_exponential_histogram",
            "otel_metrics_gauge",
            "otel_metrics_histogram",
            "otel_metrics_sum",
            "otel_metrics_summary",
            "otel_traces",
            "otel_traces_trace_id_ts",
            "otel_traces_trace_id_ts_mv",
        ]
    )
    columns = store._select(
        "SELECT name, type FROM system.columns "
        "WHERE database = 'otel' AND table = 'otel_traces' ORDER BY position",
        {},
    ).to_pydict()
    described = dict(zip(columns["name"], columns["type"], strict=True))
    assert described["Timestamp"] == "DateTime64(9)"
    assert described["ServiceName"] == "LowCardinality(String)"
    assert described["Duration"] == "UInt64"
    assert described["Events.Timestamp"] == "Array(DateTime64(9))"
    # The exporter's lookup view follows inserts: the trace ids written above are there.
    lookup = store._select('SELECT count() AS n FROM "otel"."otel_traces_trace_id_ts"', {})
    assert lookup.column("n")[0].as_py() > 0


def test_stores_on_two_paths_take_turns_and_keep_their_data(
    store: ChdbTelemetryStore, tmp_path: Path
) -> None:
    before = store.read(start=at(0), end=at(1))
    assert before.spans
    with ChdbTelemetryStore(tmp_path / "other") as other:  # chDB: one embedded server per process
        other.append(Telemetry(spans=(span("f" * 32, "1" * 16, None, "other-svc", ns(0, 5)),)))
        assert [s.service for s in other.read(start=at(0), end=at(1)).spans] == ["other-svc"]
        assert store.read(start=at(0), end=at(1)) == before  # the first store reopens its own files
        assert [s.service for s in other.read(start=at(0), end=at(1)).spans] == ["other-svc"]
    same = ChdbTelemetryStore(store.path)
    assert same.read(start=at(0), end=at(1)) == before
    same.close()
    assert store.read(start=at(0), end=at(1)) == before  # closed by `same`: reopened on use


def test_a_naive_window_is_refused(store: ChdbTelemetryStore) -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        store.read(start=datetime(2026, 12, 2, 9), end=datetime(2026, 12, 2, 10))


class ClickHouseConnectOnChdb:
    """A clickhouse-connect client stand-in: the driver's own binding, executed in chDB."""

    def __init__(self, chdb: ChdbTelemetryStore) -> None:
        self.chdb = chdb
        self.queries: list[tuple[str, dict[str, str]]] = []

    def query_arrow(self, query: str, parameters: dict[str, Any] | None = None) -> pa.Table:
        bound, http_params = bind_query(query, parameters)  # what the driver sends: param_<name>=<text>
        assert isinstance(bound, str)
        assert all(name.startswith("param_") for name in http_params)
        server_params = {name.removeprefix("param_"): text for name, text in http_params.items()}
        self.queries.append((bound, server_params))
        return self.chdb._session.query(bound, "ArrowTable", params=server_params)

    def insert_arrow(self, table: str, arrow_table: pa.Table, database: str | None = None) -> object:
        self.chdb._insert(table, arrow_table) if database == self.chdb.database else pytest.fail(database)
        return None

    def command(self, cmd: str) -> object:
        self.chdb._command(cmd)
        return None


def test_the_clickhouse_store_sends_the_same_sql_and_it_runs(store: ChdbTelemetryStore) -> None:
    client = ClickHouseConnectOnChdb(store)
    cluster = ClickHouseTelemetryStore(client, database="otel")
    written = sample(9, "ch")
    cluster.append(written)
    read = cluster.read(start=at(9), end=at(10), services=[ServiceId("ch-db"), ServiceId("ch-cart")])
    assert canonical(read) == canonical(store.read(start=at(9), end=at(10), services=["ch-db", "ch-cart"]))
    assert read.services == {"ch-db", "ch-cart"}
    sent = [q for q, _ in client.queries]
    assert sent == [
        otel_schema.select_points("otel", by_service=True),
        otel_schema.select_logs("otel", by_service=True),
        otel_schema.select_spans("otel", by_service=True),
    ]
    _, params = client.queries[0]
    assert params == {"start_ns": str(ns(9)), "end_ns": str(ns(10)), "services": "['ch-cart', 'ch-db']"}
    assert cluster.call_edges(at(9), at(10)) == {("ch-front", "ch-cart"): 1, ("ch-cart", "ch-db"): 1}


def test_clickhouse_errors_name_the_server_without_its_password() -> None:
    with pytest.raises(TelemetryStoreError) as failed:
        ClickHouseTelemetryStore.from_url("http://mc:s3cret@127.0.0.1:1/")
    assert "http://mc:***@127.0.0.1:1/" in str(failed.value)
    assert "s3cret" not in str(failed.value)


def test_chdb_parameters_are_clickhouse_text() -> None:
    assert chdb_parameter(["a'b", "c\\d"]) == "['a\\'b','c\\\\d']"
    assert chdb_parameter(12) == "12"
    assert chdb_parameter(True) == "true"


def test_ddl_refuses_a_database_name_it_would_have_to_quote() -> None:
    with pytest.raises(ValueError, match="letters, digits and underscores"):
        otel_schema.create_statements('otel"; DROP')


def test_concurrent_appends_are_all_stored_in_fewer_inserts(store: ChdbTelemetryStore) -> None:
    batches = [
        Telemetry(
            spans=tuple(
                span(f"{b:032x}", f"{b:08x}{i:08x}", None, f"gc-{b % 7}", ns(10, b + i / 100))
                for i in range(50)
            )
        )
        for b in range(64)
    ]
    writes: list[int] = []
    real_write = store._commits.write

    def counting_write(telemetry: Telemetry) -> None:
        writes.append(len(telemetry.spans))
        real_write(telemetry)

    store._commits.write = counting_write
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(store.append, batches))
    finally:
        store._commits.write = real_write
    read = store.read(start=at(10), end=at(11))
    assert len(read.spans) == 64 * 50
    assert sum(writes) == 64 * 50
    assert len(writes) < 64  # coalesced: some inserts carried several callers' batches


def test_a_failed_write_fails_every_caller_it_carried() -> None:
    class Refusing:
        def insert_arrow(self, table: str, arrow_table: pa.Table, database: str | None = None) -> object:
            raise ConnectionError("server went away")

    cluster = ClickHouseTelemetryStore(Refusing(), source="http://ch:8123")  # type: ignore[arg-type]
    with pytest.raises(
        TelemetryStoreError, match=r"insert of 1 rows into otel_traces failed \(http://ch:8123\)"
    ):
        cluster.append(Telemetry(spans=(span("a" * 32, "1" * 16, None, "x", ns(0)),)))


def test_the_trace_id_view_can_be_left_out() -> None:
    statements = otel_schema.create_statements("otel", trace_id_lookup=False)
    assert not any("trace_id_ts" in s for s in statements)
    assert len(otel_schema.create_statements("otel")) == len(statements) + 2


def test_concurrent_reads_and_edge_queries_each_get_their_own_window(store: ChdbTelemetryStore) -> None:
    # Investigations run in a worker pool and read the one embedded server at once; each parameterised
    # query must keep its own substitutions (they once failed with "Substitution start_ns is not set").
    for hour in (10, 11):
        store.append(sample(hour, f"conc{hour}"))
    expected = {hour: canonical(store.read(start=at(hour), end=at(hour + 1))) for hour in (10, 11)}

    def read(i: int) -> bool:
        hour = 10 + i % 2
        if i % 3 == 0:
            return bool(store.call_edges(at(hour), at(hour + 1)))
        return canonical(store.read(start=at(hour), end=at(hour + 1))) == expected[hour]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(read, range(48)))
    assert all(results)


def test_a_large_append_is_inserted_in_slices_and_read_back_whole(
    store: ChdbTelemetryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One statement per table used to carry the whole append: 1.25M metric samples broke the embedded
    # server's memory limit. Slices of 2 rows here stand for its 65,536.
    monkeypatch.setattr(telemetry_module, "INSERT_SLICE_ROWS", 2)
    written = sample(50, "slices")
    store.append(written)
    assert canonical(store.read(start=at(50), end=at(51))) == canonical(written)


def test_the_embedded_server_runs_with_bounded_memory(store: ChdbTelemetryStore) -> None:
    session = store._session
    server = dict(
        tuple(line.split("\t"))
        for line in str(session.query("SELECT name, value FROM system.server_settings", "TSV")).splitlines()
    )
    for name, value in EMBEDDED_SERVER_SETTINGS.items():
        assert int(server[name]) == value, name
    names = ", ".join(f"'{name}'" for name in EMBEDDED_QUERY_SETTINGS)
    query = f"SELECT name, value FROM system.settings WHERE name IN ({names})"
    rows = dict(tuple(line.split("\t")) for line in str(session.query(query, "TSV")).splitlines())
    assert {name: int(value) for name, value in rows.items()} == EMBEDDED_QUERY_SETTINGS


def test_reading_pauses_the_collector_and_gives_it_back_as_found(store: ChdbTelemetryStore) -> None:
    assert gc.isenabled()
    gc.disable()
    try:
        store.read(start=at(1), end=at(2))
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()


def test_concurrent_readers_never_leave_the_collector_off(store: ChdbTelemetryStore) -> None:
    store.append(sample(20, "gcp"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        reads = list(pool.map(lambda _: store.read(start=at(20), end=at(21)), range(12)))
    assert all(canonical(r) == canonical(reads[0]) for r in reads)
    assert gc.isenabled()


def span_rows(statuses: list[str]) -> pa.Table:
    """`select_spans`-shaped rows: one span per status, the first a root."""
    n = len(statuses)
    return pa.table(
        {
            "TraceId": ["t" * 32] * n,
            "SpanId": [f"{i:016x}" for i in range(n)],
            "ParentSpanId": [""] + [f"{i:016x}" for i in range(n - 1)],
            "Service": ["front", "cart"] * (n // 2) + ["front"] * (n % 2),
            "Operation": ["GET /"] * n,
            "StartNs": pa.array([NS * 1_700_000_000 + i for i in range(n)], pa.int64()),
            "Duration": pa.array([1_000 * i for i in range(n)], pa.uint64()),
            "Status": statuses,
        }
    )


def test_rows_become_the_spans_the_constructor_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    statuses = ["Unset", "Ok", "Error", "STATUS_CODE_ERROR", "STATUS_CODE_OK", "", "Ok"]
    fast = from_span_rows(span_rows(statuses))
    assert otel_rows._SPAN_SLOTS  # slots filled directly: a changed `Span` turns this off
    expected = tuple(
        Span(
            trace_id="t" * 32,
            span_id=f"{i:016x}",
            parent_span_id=None if i == 0 else f"{i - 1:016x}",
            service=ServiceId("front" if i % 2 == 0 else "cart"),
            operation="GET /",
            start_ns=NS * 1_700_000_000 + i,
            end_ns=NS * 1_700_000_000 + i + 1_000 * i,
            is_error=error,
        )
        for i, error in enumerate([None, False, True, True, False, None, False])
    )
    assert fast == expected
    assert {hash(s) for s in fast} == {hash(s) for s in expected}
    monkeypatch.setattr(otel_rows, "_SPAN_SLOTS", False)  # through the constructor
    assert from_span_rows(span_rows(statuses)) == expected
    assert from_span_rows(span_rows(statuses).slice(0, 0)) == ()


def test_log_rows_become_the_records_the_constructor_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = pa.table(
        {
            "TimeNs": pa.array([NS * 1_700_000_000, NS * 1_700_000_000 + 500_000_000], pa.int64()),
            "Service": ["db", "cart"],
            "Body": ["deadlock", "ok"],
            "Level": ["ERROR", ""],
            "TraceId": ["a" * 32, ""],
            "SpanId": ["b" * 16, ""],
        }
    )
    expected = (
        LogRecord(1_700_000_000.0, ServiceId("db"), "deadlock", "ERROR", "a" * 32, "b" * 16),
        LogRecord(1_700_000_000.5, ServiceId("cart"), "ok", "", "", ""),
    )
    assert otel_rows._LOG_SLOTS
    assert from_log_rows(rows) == expected
    monkeypatch.setattr(otel_rows, "_LOG_SLOTS", False)
    assert from_log_rows(rows) == expected
    assert from_log_rows(rows.slice(0, 0)) == ()


def counting_selects(store: ChdbTelemetryStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    queries: list[str] = []
    select = store._select

    def counted(query: str, params: Any) -> pa.Table:
        queries.append(query)
        return select(query, params)

    monkeypatch.setattr(store, "_select", counted)
    return queries


def test_call_edges_are_counted_once_until_spans_of_their_window_are_written(
    store: ChdbTelemetryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = "c" * 32
    store.append(
        Telemetry(
            spans=(
                span(trace, "1" * 16, None, "cache-front", ns(30, 10)),
                span(trace, "2" * 16, "1" * 16, "cache-cart", ns(30, 11)),
            )
        )
    )
    queries = counting_selects(store, monkeypatch)
    first = store.call_edges(at(30), at(31))
    assert first == {("cache-front", "cache-cart"): 1}
    first[("cache-front", "nobody")] = 5  # the caller's copy: the kept count is not changed
    assert store.call_edges(at(30), at(31)) == {("cache-front", "cache-cart"): 1}
    assert len(queries) == 1
    # Spans after the window change nothing it counted: still no new query.
    store.append(Telemetry(spans=(span(trace, "3" * 16, "1" * 16, "cache-db", ns(31, 5)),)))
    assert store.call_edges(at(30), at(31)) == {("cache-front", "cache-cart"): 1}
    assert len(queries) == 1
    # A late span inside it does: counted again, with the new call.
    store.append(Telemetry(spans=(span(trace, "4" * 16, "1" * 16, "cache-db", ns(30, 50)),)))
    assert store.call_edges(at(30), at(31)) == {
        ("cache-front", "cache-cart"): 1,
        ("cache-front", "cache-db"): 1,
    }
    assert len(queries) == 2
    # So does a parent that started within the slack before the window.
    store.append(Telemetry(spans=(span(trace, "5" * 16, None, "cache-front", ns(29, 3590)),)))
    store.call_edges(at(30), at(31))
    assert len(queries) == 3
    # Another window, or another slack, is another count.
    store.call_edges(at(30), at(31), parent_slack_s=1)
    assert len(queries) == 4


def test_a_kept_edge_count_expires_and_a_count_made_during_an_append_is_not_kept(
    store: ChdbTelemetryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert store._edges is not None
    now = [1000.0]
    monkeypatch.setattr(store._edges, "clock", lambda: now[0])
    store.append(Telemetry(spans=(span("f" * 32, "1" * 16, None, "ttl-front", ns(32, 1)),)))
    queries = counting_selects(store, monkeypatch)
    store.call_edges(at(32), at(33))
    store.call_edges(at(32), at(33))
    assert len(queries) == 1
    now[0] += store._edges.ttl_s + 1  # written where this store cannot see (another process): bounded
    store.call_edges(at(32), at(33))
    assert len(queries) == 2
    # A count whose query overlapped an append (any append) is not kept.
    writes = store._edges.writes
    key = ("otel", 0, 1, 2)
    store._edges.written(ns(40), ns(40))
    store._edges.put(key, {}, first_ns=0, last_ns=2, writes_before=writes)
    assert store._edges.get(key) is None


def test_a_clickhouse_cluster_is_written_by_others_so_its_edges_are_always_counted(
    store: ChdbTelemetryStore,
) -> None:
    client = ClickHouseConnectOnChdb(store)
    cluster = ClickHouseTelemetryStore(client)
    cluster.call_edges(at(30), at(31))
    cluster.call_edges(at(30), at(31))
    assert len(client.queries) == 2


def test_rows_are_ordered_by_start_then_ids_and_a_resent_span_kept_once() -> None:
    rows = pa.table(
        {
            "TraceId": ["b", "a", "a", "b", "a"],
            "SpanId": ["1", "2", "1", "1", "2"],
            "StartNs": pa.array([5, 5, 5, 5, 9], pa.int64()),  # a2 resent with another start
            "Status": ["first b1", "a2", "a1", "resent b1", "late a2"],
        }
    )
    ordered = ordered_once(rows)
    assert ordered.column("Status").to_pylist() == ["a1", "a2", "first b1"] or ordered.column(
        "Status"
    ).to_pylist() == ["a1", "a2", "resent b1"]
    assert ordered.column("TraceId").to_pylist() == ["a", "a", "b"]
    assert ordered_once(rows.slice(0, 0)).num_rows == 0
    once = rows.slice(0, 3)
    assert ordered_once(once).column("Status").to_pylist() == ["a1", "a2", "first b1"]
