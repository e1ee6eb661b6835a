"""Map Nezha CSV rows (metrics, logs, traces, dependencies) and fault lists to domain values. Pure; no I/O."""

import json
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from missioncontrol.domain import CaseFormatError, LogRecord, MetricSeries, ServiceId, Span

# A Deployment's pod is `<service>-<replica-set hash>-<pod hash>`; anything else is kept whole.
_POD = re.compile(r"^(?P<service>.+)-[0-9a-z]{5,10}-[0-9a-z]{5}$")
# Go's time.String(): `2023-01-29 08:41:09.043078357 +0000 UTC m=+0.119240217`.
_GO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)? ([+-]\d{2})(\d{2})")
_LEVEL = re.compile(r"\b(DEBUG|INFO|WARN|WARNING|ERROR)\b", re.IGNORECASE)
_JSON = json.JSONDecoder()

# Columns of `<pod>_metric.csv` and `front_service.csv` that are not metrics. `TimeStamp` is left
# out on purpose: it is corrupt for one pod, and `Time` is the reference.
IDENTITY_COLUMNS = frozenset({"Time", "TimeStamp", "PodName", "ServiceName"})
ROOT_PARENT = "root"


@dataclass(frozen=True, slots=True)
class Rows:
    """One CSV file: its path (for error messages), header and data rows, possibly single-pass."""

    path: str
    header: tuple[str, ...]
    rows: Iterable[Sequence[str]]

    def index(self, required: Iterable[str], optional: Iterable[str] = ()) -> dict[str, int]:
        """Return the position of each named column; a missing required column is an error."""
        positions = {name.strip(): i for i, name in enumerate(self.header)}
        for column in required:
            if column not in positions:
                raise CaseFormatError(self.path, "missing required column", column=column)
        return {c: positions[c] for c in (*required, *optional) if c in positions}


@dataclass(frozen=True, slots=True)
class Injection:
    """One injected fault from `<day>-fault_list.json`."""

    at: datetime  # from `inject_time`, UTC
    pod: str
    fault: str

    @property
    def service(self) -> ServiceId:
        return service_of_pod(self.pod)


@dataclass(frozen=True, slots=True)
class Series:
    """One numeric column of a table over time: timestamps ascending, NaN samples left out."""

    timestamps: tuple[float, ...]
    values: tuple[float, ...]


def service_of_pod(pod: str) -> ServiceId:
    """Strip a pod's two hash suffixes: `ts-contacts-service-866bd68c97-xcqfx` → `ts-contacts-service`."""
    match = _POD.match(pod)
    return ServiceId(match["service"] if match else pod)


def parse_go_time(text: str) -> float:
    """Return Unix seconds for a Go `time.String()` value such as `2023-01-29 08:41:09.04 +0000 UTC`."""
    match = _GO_TIME.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time like '2023-01-29 08:41:09.043 +0000 UTC'")
    day, clock, fraction, hours, minutes = match.groups()
    whole = datetime.fromisoformat(f"{day}T{clock}{hours}:{minutes}").timestamp()
    return whole + (float(fraction) if fraction else 0.0)


def parse_inject_time(text: str) -> datetime:
    """Return the tz-aware UTC datetime of an `inject_time` string (`2022-08-22 03:53:54`, UTC)."""
    at = datetime.fromisoformat(text)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def to_injections(document: object, *, path: str) -> tuple[Injection, ...]:
    """Map a fault list `{hour: [{inject_time, inject_pod, inject_type, ...}]}` to injections by time.

    `inject_timestamp` is ignored: on one day it is 8 hours off, while `inject_time` agrees with the
    telemetry.
    """
    if not isinstance(document, dict):
        raise CaseFormatError(path, "expected a JSON object of hour → list of faults")
    injections = []
    for hour, items in document.items():
        if not isinstance(items, list):
            raise CaseFormatError(path, f"hour {hour!r}: expected a list of faults")
        for item in items:
            if not isinstance(item, dict):
                raise CaseFormatError(path, f"hour {hour!r}: expected a JSON object per fault")
            for key in ("inject_time", "inject_pod", "inject_type"):
                if not isinstance(item.get(key), str) or not item[key]:
                    raise CaseFormatError(path, f"hour {hour!r}: missing or empty key {key!r}")
            try:
                at = parse_inject_time(item["inject_time"])
            except ValueError:
                raise CaseFormatError(path, f"hour {hour!r}: {item['inject_time']!r} is not a time") from None
            injections.append(Injection(at=at, pod=item["inject_pod"], fault=item["inject_type"]))
    return tuple(sorted(injections, key=lambda i: (i.at, i.pod, i.fault)))


def _complete_rows(table: Rows, need: int) -> Iterable[tuple[int, Sequence[str]]]:
    """Yield (1-based row number, cells) for non-empty rows; a row with too few cells is an error."""
    for number, cells in enumerate(table.rows, start=1):
        if not cells:
            continue
        if len(cells) < need:
            raise CaseFormatError(
                table.path, f"expected {len(table.header)} cells, found {len(cells)}", row=number
            )
        yield number, cells


def to_columns(table: Rows) -> dict[str, Series]:
    """Return every numeric column of a `Time,...` table as a series keyed by column name.

    A column is numeric when every non-empty cell parses as a number; NaN and empty cells are
    missing samples. Identity columns (`Time`, `TimeStamp`, `PodName`, `ServiceName`) are skipped.
    """
    time_position = table.index(["Time"])["Time"]
    wanted = [
        (i, name.strip()) for i, name in enumerate(table.header) if name.strip() not in IDENTITY_COLUMNS
    ]
    points: dict[str, list[tuple[float, float]]] = {name: [] for _, name in wanted}
    numeric = dict.fromkeys(points, True)
    for number, cells in _complete_rows(table, len(table.header)):
        try:
            at = parse_go_time(cells[time_position])
        except ValueError as error:
            raise CaseFormatError(table.path, str(error), column="Time", row=number) from None
        for position, name in wanted:
            cell = cells[position].strip()
            if not cell or not numeric[name]:
                continue
            try:
                value = float(cell)
            except ValueError:
                numeric[name] = False
                continue
            if not math.isnan(value):
                points[name].append((at, value))
    columns = {}
    for name, samples in points.items():
        if numeric[name] and samples:
            samples.sort(key=lambda point: point[0])
            columns[name] = Series(tuple(t for t, _ in samples), tuple(v for _, v in samples))
    return columns


def to_metric_series(columns_by_pod: Mapping[str, Mapping[str, Series]]) -> tuple[MetricSeries, ...]:
    """Return one MetricSeries per service and column, merging pods of the same service by time."""
    merged: dict[tuple[ServiceId, str], list[tuple[float, float]]] = {}
    for pod in sorted(columns_by_pod):
        service = service_of_pod(pod)
        for metric, series in columns_by_pod[pod].items():
            merged.setdefault((service, metric), []).extend(
                zip(series.timestamps, series.values, strict=True)
            )
    result = []
    for (service, metric), points in sorted(merged.items()):
        points.sort(key=lambda point: point[0])
        result.append(
            MetricSeries(
                service=service,
                metric=metric,
                timestamps=tuple(t for t, _ in points),
                values=tuple(v for _, v in points),
            )
        )
    return tuple(result)


def to_logs(table: Rows) -> list[LogRecord]:
    """Map a `log/HH_MM_log.csv` table to log records.

    The `Log` cell is a container-runtime JSON envelope `{"log": "...", "stream": ..., "time": ...}`;
    the inner text is the message. A few rows have garbage after the envelope (interleaved writes),
    so the envelope is decoded up to its end and the rest is ignored.
    """
    at = table.index(["TimeUnixNano", "PodName", "Log"], ["TraceID", "SpanID"])
    need = max(at.values()) + 1
    trace_at, span_at = at.get("TraceID"), at.get("SpanID")
    services: dict[str, ServiceId] = {}
    records = []
    for number, cells in _complete_rows(table, need):
        try:
            nanos = int(cells[at["TimeUnixNano"]])
        except ValueError:
            raise CaseFormatError(
                table.path,
                f"{cells[at['TimeUnixNano']]!r} is not an integer",
                column="TimeUnixNano",
                row=number,
            ) from None
        pod = cells[at["PodName"]]
        service = services.get(pod) or services.setdefault(pod, ServiceId(sys.intern(service_of_pod(pod))))
        message = unwrap_log(cells[at["Log"]])
        records.append(
            LogRecord(
                timestamp=nanos / 1e9,
                service=service,
                message=message,
                level=log_level(message),
                trace_id=sys.intern(cells[trace_at]) if trace_at is not None else "",
                span_id=cells[span_at] if span_at is not None else "",
            )
        )
    return records


def unwrap_log(cell: str) -> str:
    """Return the inner `log` text of a JSON log envelope without its trailing newline, else the cell."""
    text = cell
    if cell.startswith("{"):
        try:
            envelope, _ = _JSON.raw_decode(cell)
        except json.JSONDecodeError:
            envelope = None
        if isinstance(envelope, dict) and isinstance(envelope.get("log"), str):
            text = envelope["log"]
    return text.rstrip("\r\n")


def log_level(message: str) -> str:
    """Return the first DEBUG/INFO/WARN/ERROR token in `message`, upper-case (WARNING → WARN), or ""."""
    match = _LEVEL.search(message)
    if match is None:
        return ""
    level = match[1].upper()
    return "WARN" if level == "WARNING" else level


def to_spans(table: Rows) -> list[Span]:
    """Map a `trace/HH_MM_trace.csv` table to spans; a `root` parent marks a root span."""
    at = table.index(
        ["TraceID", "SpanID", "ParentID", "PodName", "OperationName", "StartTimeUnixNano", "EndTimeUnixNano"]
    )
    need = max(at.values()) + 1
    start_at, end_at = at["StartTimeUnixNano"], at["EndTimeUnixNano"]
    services: dict[str, ServiceId] = {}
    spans = []
    for number, cells in _complete_rows(table, need):
        try:
            start_ns = int(cells[start_at])
        except ValueError:
            raise CaseFormatError(
                table.path, f"{cells[start_at]!r} is not an integer", column="StartTimeUnixNano", row=number
            ) from None
        try:
            end_ns = int(cells[end_at])
        except ValueError:
            raise CaseFormatError(
                table.path, f"{cells[end_at]!r} is not an integer", column="EndTimeUnixNano", row=number
            ) from None
        if end_ns < start_ns:
            raise CaseFormatError(
                table.path, f"end {end_ns} is before start {start_ns}", column="EndTimeUnixNano", row=number
            )
        pod = cells[at["PodName"]]
        service = services.get(pod) or services.setdefault(pod, ServiceId(sys.intern(service_of_pod(pod))))
        parent = cells[at["ParentID"]]
        # Interning: a trace id repeats on every span of its trace, an operation on thousands.
        spans.append(
            Span(
                trace_id=sys.intern(cells[at["TraceID"]]),
                span_id=cells[at["SpanID"]],
                parent_span_id=None if parent in ("", ROOT_PARENT) else parent,
                service=service,
                operation=sys.intern(cells[at["OperationName"]]),
                start_ns=start_ns,
                end_ns=end_ns,
                is_error=None,
            )
        )
    return spans


def to_dependency_edges(table: Rows) -> set[tuple[ServiceId, ServiceId]]:
    """Return the caller → callee edges of a `dependency.csv` table (`Source,Target[,Weight]`)."""
    at = table.index(["Source", "Target"])
    edges = set()
    for cells in table.rows:
        if cells and cells[at["Source"]].strip() and cells[at["Target"]].strip():
            edges.add((ServiceId(cells[at["Source"]].strip()), ServiceId(cells[at["Target"]].strip())))
    return edges


def call_edges(spans: Iterable[Span]) -> set[tuple[ServiceId, ServiceId]]:
    """Return caller → callee service edges: a child span in another service than its parent's."""
    spans = list(spans)
    # Keyed by span id alone (64 random bits) with the trace checked after: a million tuple keys
    # would cost more than the rest of the pass.
    by_id = {s.span_id: s for s in spans}
    edges = set()
    for span in spans:
        if span.parent_span_id is None:
            continue
        parent = by_id.get(span.parent_span_id)
        if parent is not None and parent.trace_id == span.trace_id and parent.service != span.service:
            edges.add((parent.service, span.service))
    return edges
