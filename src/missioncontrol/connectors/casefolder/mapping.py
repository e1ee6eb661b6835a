"""Map case-folder CSV rows and JSON documents to domain values, and back. Pure; no I/O.

Every reader raises `CaseFormatError` naming the file, the column and the 1-based data row (row 1 is
the first row after the header), so that a person can open the file and fix it.
"""

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from missioncontrol.domain import (
    Alert,
    AlertStatus,
    CaseFormatError,
    Change,
    ChangeKind,
    FaultKind,
    LogRecord,
    MetricSeries,
    ServiceGraph,
    ServiceId,
    Severity,
    Span,
    Truth,
)
from missioncontrol.domain.labels import fault_kind_from_label

METRICS_COLUMNS = ("time", "service", "metric", "value")
LOGS_COLUMNS = ("time", "service", "message")
LOGS_OPTIONAL = ("level", "trace_id", "span_id")
SPANS_COLUMNS = ("trace_id", "span_id", "parent_span_id", "service", "operation", "start_ns", "end_ns")
SPANS_OPTIONAL = ("status",)
GRAPH_COLUMNS = ("caller", "callee")
CHANGES_COLUMNS = ("time", "service", "kind", "description")

SPAN_STATUS: Mapping[str, bool | None] = {"": None, "ok": False, "error": True}
SPAN_STATUS_TEXT: Mapping[bool | None, str] = {None: "", False: "ok", True: "error"}
_CHANGE_KINDS = frozenset(ChangeKind)
_FAULT_KINDS = frozenset(FaultKind)
_SEVERITIES = frozenset(Severity)


@dataclass(frozen=True, slots=True)
class Table:
    """One CSV file read whole: its path (for error messages), header and data rows."""

    path: str
    header: tuple[str, ...]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True, slots=True)
class _Row:
    """One data row, with the column positions of its table, so cells can be fetched by name."""

    table: Table
    number: int
    cells: Sequence[str]
    index: Mapping[str, int]

    def text(self, column: str, *, required: bool = True) -> str:
        position = self.index.get(column)
        value = "" if position is None else self.cells[position]
        if required and not value.strip():
            raise self.error(column, "is empty")
        return value

    def real(self, column: str) -> float:
        value = self.text(column)
        try:
            return float(value)
        except ValueError:
            raise self.error(column, f"{value!r} is not a number") from None

    def time(self, column: str) -> float:
        value = self.real(column)
        if not math.isfinite(value):
            raise self.error(column, f"{self.text(column)!r} is not a finite Unix time")
        return value

    def integer(self, column: str) -> int:
        value = self.text(column)
        try:
            return int(value)
        except ValueError:
            raise self.error(column, f"{value!r} is not an integer") from None

    def error(self, column: str, problem: str) -> CaseFormatError:
        return CaseFormatError(self.table.path, problem, column=column, row=self.number)


def _rows(table: Table, required: Sequence[str], optional: Sequence[str] = ()) -> Iterator[_Row]:
    """Check the header, then yield each non-blank data row, numbered from 1."""
    index: dict[str, int] = {}
    for position, name in enumerate(table.header):
        key = name.strip()
        if key in index:
            raise CaseFormatError(table.path, "column appears twice in the header", column=key)
        index[key] = position
    for column in required:
        if column not in index:
            raise CaseFormatError(table.path, "missing required column", column=column)
    wanted = {name: index[name] for name in (*required, *optional) if name in index}
    width = len(table.header)
    for number, cells in enumerate(table.rows, start=1):
        if not cells:
            continue  # a blank line, e.g. a trailing newline
        if len(cells) != width:
            raise CaseFormatError(table.path, f"expected {width} cells, found {len(cells)}", row=number)
        yield _Row(table, number, cells, wanted)


def to_metrics(table: Table) -> tuple[MetricSeries, ...]:
    """Group long-format samples into series, in order of first appearance, each sorted by time.

    An empty or NaN value is a missing sample and is left out.
    """
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for row in _rows(table, METRICS_COLUMNS):
        service = row.text("service").strip()
        metric = row.text("metric").strip()
        at = row.time("time")
        if not row.text("value", required=False).strip():
            continue
        value = row.real("value")
        if math.isnan(value):
            continue
        samples.setdefault((service, metric), []).append((at, value))
    series = []
    for (service, metric), points in samples.items():
        points.sort(key=lambda point: point[0])
        series.append(
            MetricSeries(
                service=ServiceId(service),
                metric=metric,
                timestamps=tuple(at for at, _ in points),
                values=tuple(value for _, value in points),
            )
        )
    return tuple(series)


def to_logs(table: Table) -> tuple[LogRecord, ...]:
    """Return the log records in file order."""
    return tuple(
        LogRecord(
            timestamp=row.time("time"),
            service=ServiceId(row.text("service").strip()),
            message=row.text("message", required=False),
            level=row.text("level", required=False).strip(),
            trace_id=row.text("trace_id", required=False).strip(),
            span_id=row.text("span_id", required=False).strip(),
        )
        for row in _rows(table, LOGS_COLUMNS, LOGS_OPTIONAL)
    )


def to_spans(table: Table) -> tuple[Span, ...]:
    """Return the spans in file order; an empty parent marks a root span."""
    spans = []
    for row in _rows(table, SPANS_COLUMNS, SPANS_OPTIONAL):
        start_ns = row.integer("start_ns")
        end_ns = row.integer("end_ns")
        if end_ns < start_ns:
            raise row.error("end_ns", f"end {end_ns} is before start_ns {start_ns}")
        status = row.text("status", required=False).strip().lower()
        if status not in SPAN_STATUS:
            raise row.error("status", f"{status!r} is not one of 'ok', 'error' or empty")
        parent = row.text("parent_span_id", required=False).strip()
        spans.append(
            Span(
                trace_id=row.text("trace_id").strip(),
                span_id=row.text("span_id").strip(),
                parent_span_id=parent or None,
                service=ServiceId(row.text("service").strip()),
                operation=row.text("operation", required=False),
                start_ns=start_ns,
                end_ns=end_ns,
                is_error=SPAN_STATUS[status],
            )
        )
    return tuple(spans)


def to_graph(table: Table) -> ServiceGraph:
    """Return the declared dependencies, caller first."""
    edges = [(row.text("caller").strip(), row.text("callee").strip()) for row in _rows(table, GRAPH_COLUMNS)]
    return ServiceGraph.from_edges(edges)


def to_changes(table: Table) -> tuple[Change, ...]:
    """Return the changes in file order; a kind we do not know becomes OTHER."""
    changes = []
    for row in _rows(table, CHANGES_COLUMNS):
        kind_text = row.text("kind").strip().lower()
        kind = ChangeKind(kind_text) if kind_text in _CHANGE_KINDS else ChangeKind.OTHER
        changes.append(
            Change(
                service=ServiceId(row.text("service").strip()),
                kind=kind,
                at=_utc(row.time("time")),
                description=row.text("description", required=False),
            )
        )
    return tuple(changes)


def to_alert(document: object, *, path: str) -> Alert:
    """Map an alert.json document to a firing Alert whose fingerprint is a hash of its content."""
    fields = _object(document, path=path)
    signal = _string(fields, "signal", path=path)
    fired_at = _utc(_seconds(fields, "fired_at", path=path))
    service = fields.get("service")
    if service is not None and not isinstance(service, str):
        raise CaseFormatError(path, f"key 'service': {service!r} is not a string or null")
    severity_text = fields.get("severity", Severity.WARNING.value)
    if not isinstance(severity_text, str) or severity_text.lower() not in _SEVERITIES:
        raise CaseFormatError(
            path, f"key 'severity': {severity_text!r} is not one of {', '.join(s.value for s in Severity)}"
        )
    labels = fields.get("labels", {})
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise CaseFormatError(path, "key 'labels': is not an object of strings")
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return Alert(
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest()[:16],
        name=_string(fields, "name", path=path) if "name" in fields else signal,
        severity=Severity(severity_text.lower()),
        status=AlertStatus.FIRING,
        service=ServiceId(service) if service else None,
        signal=signal,
        started_at=fired_at,
        received_at=fired_at,
        summary=_string(fields, "summary", path=path, allow_empty=True) if "summary" in fields else "",
        labels=dict(labels),
    )


def to_truth(document: object, *, path: str) -> Truth:
    """Map a truth.json document to a Truth; `kind` is optional and derived from `fault` if absent."""
    fields = _object(document, path=path)
    fault = _string(fields, "fault", path=path)
    kind = fault_kind_from_label(fault)
    if "kind" in fields:
        kind_text = _string(fields, "kind", path=path)
        if kind_text not in _FAULT_KINDS:
            raise CaseFormatError(
                path, f"key 'kind': {kind_text!r} is not one of {', '.join(k.value for k in FaultKind)}"
            )
        kind = FaultKind(kind_text)
    return Truth(
        service=ServiceId(_string(fields, "service", path=path)),
        fault=fault,
        kind=kind,
        started_at=_utc(_seconds(fields, "started_at", path=path)),
    )


def to_metric_rows(series: Iterable[MetricSeries]) -> Iterator[tuple[str, ...]]:
    """Yield metrics.csv rows, header first; NaN samples are left out, as missing."""
    yield METRICS_COLUMNS
    for one in series:
        for at, value in zip(one.timestamps, one.values, strict=True):
            if not math.isnan(value):
                yield (repr(at), one.service, one.metric, repr(value))


def to_log_rows(logs: Iterable[LogRecord]) -> Iterator[tuple[str, ...]]:
    """Yield logs.csv rows, header first."""
    yield (*LOGS_COLUMNS, *LOGS_OPTIONAL)
    for r in logs:
        yield (repr(r.timestamp), r.service, r.message, r.level, r.trace_id, r.span_id)


def to_span_rows(spans: Iterable[Span]) -> Iterator[tuple[str, ...]]:
    """Yield spans.csv rows, header first."""
    yield (*SPANS_COLUMNS, *SPANS_OPTIONAL)
    for s in spans:
        yield (
            s.trace_id,
            s.span_id,
            s.parent_span_id or "",
            s.service,
            s.operation,
            str(s.start_ns),
            str(s.end_ns),
            SPAN_STATUS_TEXT[s.is_error],
        )


def to_graph_rows(graph: ServiceGraph) -> Iterator[tuple[str, ...]]:
    """Yield graph.csv rows, header first, edges sorted."""
    yield GRAPH_COLUMNS
    yield from sorted(graph.edges)


def to_change_rows(changes: Iterable[Change]) -> Iterator[tuple[str, ...]]:
    """Yield changes.csv rows, header first."""
    yield CHANGES_COLUMNS
    for c in changes:
        yield (repr(c.at.timestamp()), c.service, c.kind.value, c.description)


def to_alert_document(alert: Alert) -> dict[str, object]:
    """Return the alert.json document for `alert` (fingerprint and status are not stored)."""
    return {
        "service": alert.service,
        "signal": alert.signal,
        "fired_at": alert.started_at.timestamp(),
        "summary": alert.summary,
        "name": alert.name,
        "severity": alert.severity.value,
        "labels": dict(alert.labels),
    }


def to_truth_document(truth: Truth) -> dict[str, object]:
    """Return the truth.json document for `truth`."""
    return {
        "service": truth.service,
        "fault": truth.fault,
        "started_at": truth.started_at.timestamp(),
        "kind": truth.kind.value,
    }


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _object(document: object, *, path: str) -> dict[str, object]:
    if not isinstance(document, dict):
        raise CaseFormatError(path, f"expected a JSON object, found {type(document).__name__}")
    return document


def _string(fields: Mapping[str, object], key: str, *, path: str, allow_empty: bool = False) -> str:
    if key not in fields:
        raise CaseFormatError(path, f"missing required key {key!r}")
    value = fields[key]
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise CaseFormatError(path, f"key {key!r}: {value!r} is not a non-empty string")
    return value


def _seconds(fields: Mapping[str, object], key: str, *, path: str) -> float:
    if key not in fields:
        raise CaseFormatError(path, f"missing required key {key!r}")
    value = fields[key]
    # bool is an int subclass; `true` is not a time.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CaseFormatError(path, f"key {key!r}: {value!r} is not a number of Unix seconds")
    return float(value)
