"""The telemetry store: OTel ClickHouse exporter tables in an embedded chDB, or in a ClickHouse cluster.

```
            domain Telemetry
                  │ append                     ▲ read / call_edges
                  ▼                            │
      Arrow batches (to_*_batch)      Arrow results (from_*_rows)   both in storage.otel_rows
                  │                            │
        ┌─────────┴────────── _OtelStore ──────┴─────────┐   one SQL (storage.otel_schema)
        ▼                                                ▼
  ChdbTelemetryStore                        ClickHouseTelemetryStore
  (in-process, files under state_dir)       (clickhouse-connect, a user's cluster)
```

Both classes run the same DDL and the same queries; they differ only in how a statement reaches the
engine and how an Arrow batch is inserted (chDB's `Python()` table function; clickhouse-connect's
`insert_arrow`). Domain values map to the exporter's columns; columns the domain does not carry
(attributes, scope, events, links) keep their defaults on write and are not read back.
"""

import threading
import time
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from missioncontrol.domain import MissionControlError, ServiceId, Telemetry
from missioncontrol.domain.collector import collector_paused
from missioncontrol.storage import otel_schema as sql
from missioncontrol.storage.otel_rows import (
    NS,
    from_log_rows,
    from_point_rows,
    from_span_rows,
    ordered_once,
    to_gauge_batch,
    to_log_batch,
    to_span_batch,
)


class TelemetryStoreError(MissionControlError):
    """The telemetry store could not be opened, written or read; the message names the store and call."""


class _GroupCommit:
    """Coalesce concurrent appends into one insert per table, and return only once written.

    Each insert has a fixed cost (a new part per table and partition, the trace-id view), so many
    small concurrent batches (one per OTLP request) go in together: the first caller to find no
    write in progress writes everything queued so far, the others wait for the write that holds
    theirs. Nobody returns before their samples are stored; a failed write fails all its callers.
    """

    def __init__(self, write: Callable[[Telemetry], None], *, max_spans: int = 200_000) -> None:
        self.write = write
        self.max_spans = max_spans
        self.cond = threading.Condition()
        self.queue: list[tuple[Telemetry, list[BaseException | bool]]] = []
        self.writing = False

    def submit(self, telemetry: Telemetry) -> None:
        outcome: list[BaseException | bool] = []  # filled by whoever writes this batch
        with self.cond:
            self.queue.append((telemetry, outcome))
            while not outcome and self.writing:
                self.cond.wait()
            if not outcome:
                self.writing = True
                group = self._take()
        if outcome:
            return _raise_if_failed(outcome)
        try:
            self.write(_merged([t for t, _ in group]))
            result: BaseException | bool = True
        except BaseException as exc:  # handed to every caller of the group, then raised here too
            result = exc
        with self.cond:
            for _, waiting in group:
                waiting.append(result)
            self.writing = False
            self.cond.notify_all()
        return _raise_if_failed(outcome)

    def _take(self) -> list[tuple[Telemetry, list[BaseException | bool]]]:
        taken: list[tuple[Telemetry, list[BaseException | bool]]] = []
        spans = 0
        while self.queue and (not taken or spans + len(self.queue[0][0].spans) <= self.max_spans):
            item = self.queue.pop(0)
            taken.append(item)
            spans += len(item[0].spans)
        return taken


def _raise_if_failed(outcome: list[BaseException | bool]) -> None:
    if isinstance(outcome[0], BaseException):
        raise outcome[0]


def _merged(batches: list[Telemetry]) -> Telemetry:
    if len(batches) == 1:
        return batches[0]
    return Telemetry(
        metrics=tuple(chain.from_iterable(t.metrics for t in batches)),
        logs=tuple(chain.from_iterable(t.logs for t in batches)),
        spans=tuple(chain.from_iterable(t.spans for t in batches)),
    )


class _EdgeCache:
    """Call edges already counted, per window, kept until spans that could change them are written.

    The grouper and then the investigation of a new incident ask for the same window (the world
    model's hour before the lead alert) within a second, and each count joins every span of that
    window with its parent: a quarter of a CPU-second on a Nezha Online Boutique window. A count can
    change only when spans are written into the times it reads: every append through a store on the
    same files drops the counts whose times it touches, and a count made while any append ran is
    not kept. Spans written where the store does not see them (another process on the same files)
    are missed for at most `ttl_s`.
    """

    def __init__(self, *, ttl_s: float = 30.0, size: int = 64, clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.size, self.clock = ttl_s, size, clock
        self.lock = threading.Lock()
        # key -> (when counted, first and last instant read (ns), the edges)
        self.entries: dict[
            tuple[object, ...], tuple[float, int, int, dict[tuple[ServiceId, ServiceId], int]]
        ] = {}
        self.writes = 0  # appends begun or ended: a count spanning one is not kept

    def get(self, key: tuple[object, ...]) -> dict[tuple[ServiceId, ServiceId], int] | None:
        """Return a copy of the edges counted for `key`, None if not counted (or counted too long ago)."""
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or self.clock() - entry[0] > self.ttl_s:
                return None
            return dict(entry[3])

    def put(
        self,
        key: tuple[object, ...],
        edges: dict[tuple[ServiceId, ServiceId], int],
        *,
        first_ns: int,
        last_ns: int,
        writes_before: int,
    ) -> None:
        """Keep `edges`, counted from spans in [first_ns, last_ns), unless an append ran meanwhile."""
        with self.lock:
            if self.writes != writes_before:
                return
            if len(self.entries) >= self.size:
                del self.entries[min(self.entries, key=lambda k: self.entries[k][0])]
            self.entries[key] = (self.clock(), first_ns, last_ns, dict(edges))

    def clear(self) -> None:
        """Forget every count."""
        with self.lock:
            self.writes += 1
            self.entries.clear()

    def written(self, first_ns: int, last_ns: int) -> None:
        """Say spans starting in [first_ns, last_ns] are being (or were) written: their counts go."""
        with self.lock:
            self.writes += 1
            for key, (_, lo, hi, _) in list(self.entries.items()):
                if first_ns < hi and last_ns >= lo:
                    del self.entries[key]


class _OtelStore:
    """What both stores share: domain ↔ Arrow mapping and the SQL of `storage.otel_schema`."""

    database: str
    source: str  # names the store in errors: the chDB path or the ClickHouse URL
    _commits: _GroupCommit
    # Only where every span write passes through this process (the embedded store): a ClickHouse
    # cluster is written by the Collector directly.
    _edges: _EdgeCache | None = None

    def append(self, telemetry: Telemetry) -> None:
        """Store these samples, one insert per table; a resent sample is read back once.

        Returns once they are written; concurrent calls are written together (group commit).
        """
        self._commits.submit(telemetry)

    def _write(self, telemetry: Telemetry) -> None:
        if telemetry.spans:
            batch = to_span_batch(telemetry.spans)
            if self._edges is None:
                self._insert(sql.TRACES, batch)
            else:
                bounds = pc.min_max(batch.column("Timestamp").cast(pa.int64()))
                first_ns, last_ns = bounds["min"].as_py(), bounds["max"].as_py()
                self._edges.written(first_ns, last_ns)
                try:
                    self._insert(sql.TRACES, batch)
                finally:
                    self._edges.written(first_ns, last_ns)
        if telemetry.logs:
            self._insert(sql.LOGS, to_log_batch(telemetry.logs))
        if any(m.timestamps for m in telemetry.metrics):
            self._insert(sql.METRICS_GAUGE, to_gauge_batch(telemetry.metrics))

    def read(
        self,
        *,
        start: datetime,
        end: datetime,
        services: Collection[ServiceId] | None = None,
        spans_from: datetime | None = None,
    ) -> Telemetry:
        """Return the samples in [start, end), for these services or, with None, for all; spans only
        from `spans_from` when that is later than `start`."""
        params = _window(start, end, services)
        by_service = services is not None
        points = self._select(sql.select_points(self.database, by_service=by_service), params)
        logs = self._select(sql.select_logs(self.database, by_service=by_service), params)
        span_params = (
            params if spans_from is None else {**params, "start_ns": max(params["start_ns"], _ns(spans_from))}
        )
        spans = ordered_once(
            self._select(sql.select_spans(self.database, by_service=by_service), span_params)
        )
        # Tens of thousands of new, acyclic objects: the cyclic collector would only re-scan them.
        with collector_paused():
            return Telemetry(
                metrics=from_point_rows(points), logs=from_log_rows(logs), spans=from_span_rows(spans)
            )

    def call_edges(
        self, start: datetime, end: datetime, *, parent_slack_s: float = 600.0
    ) -> dict[tuple[ServiceId, ServiceId], int]:
        """Return {(caller, callee): calls} from child spans starting in [start, end).

        A call is a span whose parent span belongs to another service; the parent may have started up
        to `parent_slack_s` before `start`.
        """
        params: dict[str, Any] = _window(start, end, None)
        params["parent_start_ns"] = params["start_ns"] - int(parent_slack_s * NS)
        key = (self.database, params["parent_start_ns"], params["start_ns"], params["end_ns"])
        if self._edges is not None and (known := self._edges.get(key)) is not None:
            return known
        writes_before = self._edges.writes if self._edges is not None else 0
        cols = self._select(sql.select_call_edges(self.database), params).to_pydict()
        edges = {
            (ServiceId(a), ServiceId(b)): int(n)
            for a, b, n in zip(cols["Caller"], cols["Callee"], cols["Calls"], strict=True)
        }
        if self._edges is not None:
            self._edges.put(
                key,
                edges,
                first_ns=params["parent_start_ns"],
                last_ns=params["end_ns"],
                writes_before=writes_before,
            )
        return edges

    def create_schema(self, *, ttl_days: int | None = None) -> None:
        """Create the exporter's database and tables where they do not exist yet."""
        for statement in sql.create_statements(self.database, ttl_days=ttl_days):
            self._command(statement)

    def _insert(self, table: str, batch: pa.Table) -> None:
        raise NotImplementedError

    def _select(self, query: str, params: Mapping[str, Any]) -> pa.Table:
        raise NotImplementedError

    def _command(self, statement: str) -> None:
        raise NotImplementedError


def _window(start: datetime, end: datetime, services: Collection[ServiceId] | None) -> dict[str, Any]:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(f"telemetry window needs tz-aware datetimes, got {start!r}..{end!r}")
    params: dict[str, Any] = {"start_ns": _ns(start), "end_ns": _ns(end)}
    if services is not None:
        params["services"] = sorted(services)
    return params


def _ns(at: datetime) -> int:
    # Whole microseconds from the datetime, exactly: no float rounding at the window edges.
    return (int(at.timestamp()) * 1_000_000 + at.microsecond) * 1000


def chdb_parameter(value: object) -> str:
    """Return `value` in ClickHouse's text format, as chDB's query parameters take it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + ",".join(_quoted(v) for v in value) + "]"
    raise TypeError(f"no ClickHouse text form for query parameter {value!r}")


def _quoted(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return chdb_parameter(value)


MIB = 2**20
# The embedded ClickHouse shares the service's process and memory budget, but its defaults are sized
# for a dedicated server: caches of 5 GiB each and a memory limit of 90 % of the machine's RAM.
# These bound what it can grow to. Measured: inserting and reading Nezha-sized windows, the memory
# ClickHouse itself tracks stays under 40 MiB; most of its share of the process is fixed (its 530 MB
# library's code and static data), which no setting changes. Server settings, applied at start-up.
EMBEDDED_SERVER_SETTINGS: dict[str, int] = {
    "max_server_memory_usage": 256 * MIB,  # a query past this fails rather than grow the process
    "mark_cache_size": 32 * MIB,
    "index_mark_cache_size": 16 * MIB,
    "primary_index_cache_size": 16 * MIB,
    "uncompressed_cache_size": 0,
    "index_uncompressed_cache_size": 0,
    "query_condition_cache_size": 8 * MIB,
    "compiled_expression_cache_size": 16 * MIB,
}
# Query settings of the store's connection: threads (and the buffers each holds) no longer scale
# with the host's cores; one insert thread, since appends are already group-committed.
EMBEDDED_QUERY_SETTINGS: dict[str, int] = {"max_threads": 2, "max_insert_threads": 1}
# Rows per embedded insert statement: ClickHouse's own block size; a 1.25M-row metrics insert in one
# statement hit the 256 MiB limit above.
INSERT_SLICE_ROWS = 65_536


def embedded_connection(path: str) -> str:
    """Return chDB's connection string for `path` with the server bounds above (query-string parameters).

    The query settings are `SET` on the session once it is open (`embedded_session_settings`): not
    every chDB build applies query settings given in the connection string.
    """
    return path + "?" + "&".join(f"{name}={value}" for name, value in EMBEDDED_SERVER_SETTINGS.items())


def embedded_session_settings() -> tuple[str, ...]:
    """Return the statements that bound a freshly opened embedded session's queries."""
    return tuple(f"SET {name} = {value}" for name, value in EMBEDDED_QUERY_SETTINGS.items())


class _EmbeddedServer:
    """chDB runs one embedded server per process, on one path: the stores on that path share it.

    A store whose path is not the one being served opens it on its next use, closing the other
    (last user wins). A service holds one store, so switching only happens in a process, like a test
    run, that uses several one after another.
    """

    def __init__(self) -> None:
        # Guards opening and closing, and every query: one chDB session is not safe to query from
        # several threads at once (concurrent parameterised reads lost their substitutions).
        self.lock = threading.RLock()
        self.path: str | None = None
        self.session: Any = None
        self.edge_caches: dict[str, _EdgeCache] = {}  # per path: every store on it sees its writes

    def edge_cache(self, path: str) -> _EdgeCache:
        """Return the call-edge counts kept for the files at `path` (shared by its stores)."""
        with self.lock:
            return self.edge_caches.setdefault(path, _EdgeCache())

    def serving(self, path: str) -> Any:
        """Return the session on `path`, opening it (and closing any other path) if need be."""
        with self.lock:
            if self.path == path and self.session is not None:
                return self.session
            from chdb import session  # imported here: a large library, loaded only when used

            if self.session is not None:
                self.session.close()
                self.session, self.path = None, None
            try:
                opened = session.Session(embedded_connection(path))  # type: ignore[no-untyped-call]
                for statement in embedded_session_settings():
                    opened.query(statement, "Null")  # type: ignore[no-untyped-call]
            except Exception as exc:
                raise TelemetryStoreError(f"cannot open the chDB telemetry store at {path}: {exc}") from exc
            self.session, self.path = opened, path
            if path in self.edge_caches:  # the files may have changed while no server held them
                self.edge_caches[path].clear()
            return opened

    def close(self, path: str) -> None:
        """Stop the server if it serves `path`."""
        with self.lock:
            if self.path == path and self.session is not None:
                self.session.close()
                self.session, self.path = None, None


_EMBEDDED = _EmbeddedServer()


class ChdbTelemetryStore(_OtelStore):
    """TelemetryStore in an in-process ClickHouse (chDB), persisted in files under `path`.

    The embedded server starts, and the exporter's tables are created, on first use, so building a
    store costs nothing until telemetry arrives or is read. Stores on one path share the server.
    The exporter's trace-id lookup table and view are left out unless `trace_id_lookup`: only
    Grafana's plugin reads them, it cannot reach an in-process store, and they halve span ingest.
    """

    def __init__(self, path: Path, *, database: str = "otel", trace_id_lookup: bool = False) -> None:
        self.path = Path(path).resolve()
        self.database = database
        self.source = f"chdb:{self.path}"
        self.trace_id_lookup = trace_id_lookup
        self._session_seen: Any = None
        self._commits = _GroupCommit(self._write)
        self._edges = _EMBEDDED.edge_cache(str(self.path))

    @property
    def _session(self) -> Any:
        with _EMBEDDED.lock:
            if _EMBEDDED.path != str(self.path):
                self.path.mkdir(parents=True, exist_ok=True)
            session = _EMBEDDED.serving(str(self.path))
            if session is not self._session_seen:  # first use, or the server was reopened
                for statement in sql.create_statements(self.database, trace_id_lookup=self.trace_id_lookup):
                    self._run(session, statement)
                self._session_seen = session
            return session

    def close(self) -> None:
        """Stop the embedded server if it is serving this store's path (idempotent)."""
        _EMBEDDED.close(str(self.path))
        self._session_seen = None

    def __enter__(self) -> "ChdbTelemetryStore":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _insert(self, table: str, rows: pa.Table) -> None:
        columns = ", ".join(rows.column_names)
        statement = f'INSERT INTO "{self.database}"."{table}" ({columns}) SELECT {columns} FROM Python(batch)'
        # In slices (zero-copy): one insert of a million rows needs more than the embedded server's
        # memory limit. A failure part-way leaves earlier slices stored; reads count a resent row once.
        for offset in range(0, rows.num_rows, INSERT_SLICE_ROWS):
            batch = rows.slice(offset, INSERT_SLICE_ROWS)
            try:
                # chDB's Python() table function reads the local variable `batch` of this frame.
                with _EMBEDDED.lock:
                    self._session.query(statement, "Null")
            except Exception as exc:
                raise TelemetryStoreError(
                    f"insert of rows {offset}-{offset + batch.num_rows} of {rows.num_rows} into {table} "
                    f"failed ({self.source}): {exc}"
                ) from exc

    def _select(self, query: str, params: Mapping[str, Any]) -> pa.Table:
        text_params = {name: chdb_parameter(value) for name, value in params.items()}
        try:
            with _EMBEDDED.lock:
                return self._session.query(query, "ArrowTable", params=text_params)
        except Exception as exc:
            raise TelemetryStoreError(
                f"query failed ({self.source}): {exc}; query={query!r} params={params!r}"
            ) from exc

    def _command(self, statement: str) -> None:
        self._run(self._session, statement)

    def _run(self, session: Any, statement: str) -> None:
        try:
            with _EMBEDDED.lock:
                session.query(statement, "Null")
        except Exception as exc:
            raise TelemetryStoreError(
                f"statement failed ({self.source}): {exc}; statement={statement!r}"
            ) from exc


class ClickHouseClient(Protocol):
    """The part of a clickhouse-connect client the store uses."""

    def query_arrow(self, query: str, parameters: dict[str, Any] | None = None) -> pa.Table: ...

    def insert_arrow(self, table: str, arrow_table: pa.Table, database: str | None = None) -> object: ...

    def command(self, cmd: str) -> object: ...


class ClickHouseTelemetryStore(_OtelStore):
    """TelemetryStore in a ClickHouse server or cluster that an OpenTelemetry Collector exports into."""

    def __init__(
        self, client: ClickHouseClient, *, database: str = "otel", source: str = "clickhouse"
    ) -> None:
        self.client = client
        self.database = database
        self.source = source
        self._commits = _GroupCommit(self._write)

    @classmethod
    def from_url(
        cls, url: str, *, database: str = "otel", create_schema: bool = False
    ) -> "ClickHouseTelemetryStore":
        """Connect with clickhouse-connect to `url` (http(s)://user:password@host:8123)."""
        import clickhouse_connect

        try:
            client = clickhouse_connect.get_client(dsn=url)
        except Exception as exc:
            raise TelemetryStoreError(f"cannot connect to ClickHouse at {_redacted(url)}: {exc}") from exc
        store = cls(client, database=database, source=_redacted(url))
        if create_schema:
            store.create_schema()
        return store

    def close(self) -> None:
        """Close the client's connections."""
        close = getattr(self.client, "close", None)
        if callable(close):
            close()

    def _insert(self, table: str, batch: pa.Table) -> None:
        try:
            self.client.insert_arrow(table, batch, database=self.database)
        except Exception as exc:
            raise TelemetryStoreError(
                f"insert of {batch.num_rows} rows into {table} failed ({self.source}): {exc}"
            ) from exc

    def _select(self, query: str, params: Mapping[str, Any]) -> pa.Table:
        try:
            return self.client.query_arrow(query, parameters=dict(params))
        except Exception as exc:
            raise TelemetryStoreError(
                f"query failed ({self.source}): {exc}; query={query!r} params={params!r}"
            ) from exc

    def _command(self, statement: str) -> None:
        try:
            self.client.command(statement)
        except Exception as exc:
            raise TelemetryStoreError(
                f"statement failed ({self.source}): {exc}; statement={statement!r}"
            ) from exc


def _redacted(url: str) -> str:
    """Return `url` without its password."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
