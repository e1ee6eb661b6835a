"""The OpenTelemetry Collector ClickHouse exporter's schema, and the SQL we run against it.

The DDL is the exporter's own (`exporter/clickhouseexporter/internal/sqltemplates/*_table.sql` in
opentelemetry-collector-contrib, the non-full-text-search variant): same table names, column names,
types, codecs, indexes, partitioning and ordering, so a ClickHouse that a stock Collector writes into
and our embedded chDB hold the same tables. Only the exporter's template holes are filled here:
`database` (ours defaults to `otel`), the table engine (`MergeTree()`, the exporter's default) and the
optional TTL clause (the exporter adds none unless configured; neither do we).

Every query below uses ClickHouse's server-side parameters (`{name:Type}`), which both chDB and
clickhouse-connect bind, so the same strings serve a laptop and a cluster. Times cross the boundary
as Unix nanoseconds (`Int64`), never as formatted dates, so no server time zone can shift them.
"""

from string import Template

TRACES = "otel_traces"
TRACE_ID_TS = "otel_traces_trace_id_ts"
TRACE_ID_TS_MV = "otel_traces_trace_id_ts_mv"
LOGS = "otel_logs"
METRICS_GAUGE = "otel_metrics_gauge"
METRICS_SUM = "otel_metrics_sum"
METRICS_HISTOGRAM = "otel_metrics_histogram"
METRICS_EXP_HISTOGRAM = "otel_metrics_exponential_histogram"
METRICS_SUMMARY = "otel_metrics_summary"

_TRACES_DDL = Template("""
CREATE TABLE IF NOT EXISTS "$database"."otel_traces" (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2),
        CAST(ResourceAttributes, 'Array(Tuple(String, String))')),
    SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2),
        CAST(SpanAttributes, 'Array(Tuple(String, String))')),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = $engine
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
$ttl
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
""")

_TRACE_ID_TS_DDL = Template("""
CREATE TABLE IF NOT EXISTS "$database"."otel_traces_trace_id_ts" (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
) ENGINE = $engine
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
$ttl
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
""")

_TRACE_ID_TS_MV_DDL = Template("""
CREATE MATERIALIZED VIEW IF NOT EXISTS "$database"."otel_traces_trace_id_ts_mv"
TO "$database"."otel_traces_trace_id_ts"
AS SELECT
    TraceId,
    min(Timestamp) as Start,
    max(Timestamp) as End
FROM "$database"."otel_traces"
WHERE TraceId != ''
GROUP BY TraceId
""")

_LOGS_DDL = Template("""
CREATE TABLE IF NOT EXISTS "$database"."otel_logs" (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    EventName String CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = $engine
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (ServiceName, TimestampTime)
ORDER BY (ServiceName, TimestampTime, Timestamp)
$ttl
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
""")

# The five metric tables share their first columns (resource, scope, metric identity, time) and
# their indexes; each adds its own value columns. Spelled out in full anyway, like the exporter.
_METRIC_HEAD = """
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),"""

_EXEMPLARS = """
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),"""

_METRIC_TAIL = """
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = $engine
$ttl
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
"""

_METRIC_BODIES = {
    METRICS_GAUGE: """
    Value Float64 CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),"""
    + _EXEMPLARS,
    METRICS_SUM: """
    Value Float64 CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),"""
    + _EXEMPLARS
    + """
    AggregationTemporality Int32 CODEC(ZSTD(1)),
    IsMonotonic Boolean CODEC(Delta, ZSTD(1)),""",
    METRICS_HISTOGRAM: """
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    BucketCounts Array(UInt64) CODEC(ZSTD(1)),
    ExplicitBounds Array(Float64) CODEC(ZSTD(1)),"""
    + _EXEMPLARS
    + """
    Flags UInt32 CODEC(ZSTD(1)),
    Min Float64 CODEC(ZSTD(1)),
    Max Float64 CODEC(ZSTD(1)),
    AggregationTemporality Int32 CODEC(ZSTD(1)),""",
    METRICS_EXP_HISTOGRAM: """
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    Scale Int32 CODEC(ZSTD(1)),
    ZeroCount UInt64 CODEC(ZSTD(1)),
    PositiveOffset Int32 CODEC(ZSTD(1)),
    PositiveBucketCounts Array(UInt64) CODEC(ZSTD(1)),
    NegativeOffset Int32 CODEC(ZSTD(1)),
    NegativeBucketCounts Array(UInt64) CODEC(ZSTD(1)),"""
    + _EXEMPLARS
    + """
    Flags UInt32 CODEC(ZSTD(1)),
    Min Float64 CODEC(ZSTD(1)),
    Max Float64 CODEC(ZSTD(1)),
    AggregationTemporality Int32 CODEC(ZSTD(1)),""",
    METRICS_SUMMARY: """
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    ValueAtQuantiles Nested(
        Quantile Float64,
        Value Float64
    ) CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),""",
}


def create_statements(
    database: str, *, engine: str = "MergeTree()", ttl_days: int | None = None, trace_id_lookup: bool = True
) -> list[str]:
    """Return the exporter's DDL for every table (and the trace-id lookup view), in creation order.

    `trace_id_lookup=False` leaves out `otel_traces_trace_id_ts` and its materialized view: the
    exporter creates them for trace-by-id lookups (Grafana's ClickHouse plugin uses them); we never
    query them, and the view's extra insert per batch about halves span ingest in chDB.
    """
    if not database.replace("_", "").isalnum():
        raise ValueError(f"telemetry database name {database!r}: use letters, digits and underscores")
    holes = {"database": database, "engine": engine}
    statements = [f'CREATE DATABASE IF NOT EXISTS "{database}"']
    statements.append(_TRACES_DDL.substitute(holes, ttl=_ttl("toDateTime(Timestamp)", ttl_days)))
    if trace_id_lookup:
        statements.append(_TRACE_ID_TS_DDL.substitute(holes, ttl=_ttl("toDateTime(Start)", ttl_days)))
        statements.append(_TRACE_ID_TS_MV_DDL.substitute(holes))
    statements.append(_LOGS_DDL.substitute(holes, ttl=_ttl("TimestampTime", ttl_days)))
    for table, body in _METRIC_BODIES.items():
        head = f'\nCREATE TABLE IF NOT EXISTS "{database}"."{table}" ({_METRIC_HEAD}'
        tail = Template(_METRIC_TAIL).substitute(holes, ttl=_ttl("toDateTime(TimeUnix)", ttl_days))
        statements.append(head + body + tail)
    return statements


def _ttl(column: str, days: int | None) -> str:
    return "" if days is None else f"TTL {column} + toIntervalDay({int(days)})"


# --- Queries: shared verbatim by the chDB and the clickhouse-connect stores ----------------------

_WINDOW = (
    "{column} >= fromUnixTimestamp64Nano({{start_ns:Int64}}) "
    "AND {column} < fromUnixTimestamp64Nano({{end_ns:Int64}})"
)
_SERVICES = " AND has({services:Array(String)}, ServiceName)"


def select_spans(database: str, *, by_service: bool) -> str:
    """Return the query for spans starting in [start_ns, end_ns), in no order and with a resent span
    as often as it was sent: the reader orders them by (StartNs, TraceId, SpanId) and keeps the first
    of each (TraceId, SpanId) (`storage.telemetry.ordered_once`), cheaper than `ORDER BY ... LIMIT 1
    BY` here."""
    return (
        "SELECT TraceId, SpanId, ParentSpanId, toString(ServiceName) AS Service, "
        "toString(SpanName) AS Operation, toUnixTimestamp64Nano(Timestamp) AS StartNs, Duration, "
        "toString(StatusCode) AS Status "
        f'FROM "{database}"."{TRACES}" '
        f"WHERE {_WINDOW.format(column='Timestamp')}{_SERVICES if by_service else ''}"
    )


def select_logs(database: str, *, by_service: bool) -> str:
    """Return the query for log records in [start_ns, end_ns); a resent record is read once."""
    return (
        "SELECT DISTINCT toUnixTimestamp64Nano(Timestamp) AS TimeNs, toString(ServiceName) AS Service, "
        "Body, toString(SeverityText) AS Level, TraceId, SpanId "
        f'FROM "{database}"."{LOGS}" '
        f"WHERE {_WINDOW.format(column='Timestamp')}{_SERVICES if by_service else ''} "
        "ORDER BY TimeNs, Service, Body, Level, TraceId, SpanId"
    )


def select_points(database: str, *, by_service: bool) -> str:
    """Return the query for gauge and sum points in [start_ns, end_ns): one row per series (service,
    metric, sorted `k="v"` labels) with its times and values in time order.

    A resent point appears twice at the same instant; readers keep the first (`from_point_rows`).
    """
    parts = [
        "SELECT ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix) AS TimeNs, Value "
        f'FROM "{database}"."{table}" '
        f"WHERE {_WINDOW.format(column='TimeUnix')}{_SERVICES if by_service else ''}"
        for table in (METRICS_GAUGE, METRICS_SUM)
    ]
    return (
        "SELECT toString(ServiceName) AS Service, MetricName, "
        "arraySort(arrayMap(kv -> concat(kv.1, '=\"', kv.2, '\"'), "
        "CAST(Attributes, 'Array(Tuple(String, String))'))) AS Labels, "
        "arraySort(groupArray(TimeNs)) AS Times, "
        "arraySort((v, t) -> t, groupArray(Value), groupArray(TimeNs)) AS Values "
        "FROM (" + " UNION ALL ".join(parts) + ") "
        "GROUP BY ServiceName, MetricName, Attributes ORDER BY Service, MetricName, Labels"
    )


def select_call_edges(database: str) -> str:
    """Return the query counting calls between services: child spans in [start_ns, end_ns) whose parent
    span (started no earlier than `parent_start_ns`) belongs to another service."""
    return (
        "SELECT toString(parent.ServiceName) AS Caller, toString(child.ServiceName) AS Callee, "
        "uniqExact(child.TraceId, child.SpanId) AS Calls "
        f'FROM "{database}"."{TRACES}" AS child '
        "INNER JOIN ("
        "SELECT TraceId, SpanId, ServiceName "
        f'FROM "{database}"."{TRACES}" '
        "WHERE Timestamp >= fromUnixTimestamp64Nano({parent_start_ns:Int64}) "
        "AND Timestamp < fromUnixTimestamp64Nano({end_ns:Int64})"
        ") AS parent ON child.TraceId = parent.TraceId AND child.ParentSpanId = parent.SpanId "
        f"WHERE {_WINDOW.format(column='child.Timestamp')} AND child.ParentSpanId != '' "
        "AND parent.ServiceName != child.ServiceName "
        "GROUP BY Caller, Callee ORDER BY Caller, Callee"
    )
