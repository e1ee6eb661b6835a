"""NezhaSource: one case per injected fault of the Nezha dataset, each day's files parsed once.

The case window, with anchor time A, is [A − 30 min, A + 4 min]: metric samples, log lines and
spans (by start) inside it. With `TimeMode.GIVEN`, A is the inject time and is handed over as
`known_onset_at`. With `TimeMode.FOUND`, A is the fire time of the front-door SLI alert (see
`alerting`), evaluated from the inject time to 5 minutes after; if nothing breaches, the case has no
alert and A is 5 minutes after the inject time: the operator was asked about the last minutes.
"""

import contextlib
import csv
import functools
import gc
import gzip
import io
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from missioncontrol.connectors.nezha.alerting import Direction, SliCheck, SliRule, first_breach, to_alert
from missioncontrol.connectors.nezha.layout import (
    SYSTEMS,
    Day,
    find_days,
    minute_files,
    nezha_folder,
    pod_of_metric_file,
)
from missioncontrol.connectors.nezha.mapping import (
    Injection,
    Rows,
    Series,
    call_edges,
    service_of_pod,
    to_columns,
    to_dependency_edges,
    to_logs,
    to_metric_series,
    to_spans,
)
from missioncontrol.domain import (
    Alert,
    Case,
    CaseFormatError,
    LabeledCase,
    LogRecord,
    MetricSeries,
    ServiceGraph,
    ServiceId,
    Span,
    Telemetry,
    TimeMode,
    Truth,
)
from missioncontrol.domain.labels import fault_kind_from_label

BEFORE = timedelta(minutes=30)
AFTER = timedelta(minutes=4)
ALERT_SEARCH = timedelta(minutes=5)
FRONT_DOOR_FILE = "front_service"

# The front door's SLI columns, as `metric/front_service.csv` names them. A 2 % drop in success rate
# is an SLO-sized error budget; latency must also rise 20 % so minute-to-minute jitter cannot fire.
FRONT_DOOR_RULE = SliRule(
    checks=(
        SliCheck("SuccessRate(%)", Direction.DOWN, margin=0.02),
        SliCheck("LatencyP90(s)", Direction.UP, margin=0.2),
        SliCheck("LatencyP95(s)", Direction.UP, margin=0.2),
    )
)


class NezhaSource:
    """A CaseSource over one Nezha system: `system="tt"` (Train Ticket) or `"ob"` (Online Boutique).

    Cases come day by day, then by inject time, with ids such as `nezha-tt/2023-01-29/#07` that
    reveal neither the service nor the time. The case's graph is the estate's known topology
    (declared dependencies plus every call seen in that day's and its reference day's traces), and
    its baseline the logs and traces of a fault-free reference run of the same system.
    """

    def __init__(self, root: Path, system: str, *, rule: SliRule = FRONT_DOOR_RULE) -> None:
        if system not in SYSTEMS:
            raise ValueError(f"unknown Nezha system {system!r}: choose one of {', '.join(SYSTEMS)}")
        self.root = root
        self.system = SYSTEMS[system]
        self.name = f"nezha-{system}"
        self.rule = rule

    def days(self) -> tuple[Day, ...]:
        """Return this system's fault days, sorted by name."""
        return tuple(d for d in find_days(nezha_folder(self.root)) if d.system == self.system.key)

    def cases(self, *, time_mode: TimeMode) -> Iterator[LabeledCase]:
        """Yield one labelled case per injected fault, by day, then inject time."""
        for day in self.days():
            for number, injection in enumerate(day.injections, start=1):
                yield self.case(day, number, injection, time_mode=time_mode)

    def alert_for(self, day: Day, injection: Injection) -> Alert | None:
        """Return the front-door alert that fired within 5 minutes of `injection`, if any."""
        start = injection.at.timestamp()
        breach = first_breach(
            front_door(day.folder), start=start, end=start + ALERT_SEARCH.total_seconds(), rule=self.rule
        )
        return to_alert(breach, source=self.name, baseline=self.rule.baseline) if breach else None

    def case(self, day: Day, number: int, injection: Injection, *, time_mode: TimeMode) -> LabeledCase:
        """Return the labelled case of the `number`-th fault of `day`."""
        alert = self.alert_for(day, injection)
        if time_mode is TimeMode.GIVEN:
            anchor = injection.at
        else:
            anchor = alert.started_at if alert else injection.at + ALERT_SEARCH
        case = Case(
            id=f"{self.name}/{day.name}/#{number:02d}",
            system=self.system.slug,
            telemetry=window(day.folder, start=anchor - BEFORE, end=anchor + AFTER),
            graph=topology(day.folder, day.reference),
            alert=alert,
            known_onset_at=injection.at if time_mode is TimeMode.GIVEN else None,
            baseline=reference_telemetry(day.reference) if day.reference else Telemetry(),
            description=f"Nezha {self.system.title}, {day.name}, fault #{number:02d}",
        )
        truth = Truth(
            service=injection.service,
            fault=injection.fault,
            kind=fault_kind_from_label(injection.fault),
            started_at=injection.at,
        )
        return LabeledCase(case=case, truth=truth)


def window(folder: Path, *, start: datetime, end: datetime) -> Telemetry:
    """Return the metric samples, log lines and spans (by start) of `folder` in [start, end]."""
    lo, hi = start.timestamp(), end.timestamp()
    metrics = []
    for series in day_metrics(folder):
        i, j = bisect_left(series.timestamps, lo), bisect_right(series.timestamps, hi)
        if i < j:
            metrics.append(
                MetricSeries(series.service, series.metric, series.timestamps[i:j], series.values[i:j])
            )
    logs = day_logs(folder)
    spans = day_spans(folder)
    lo_ns, hi_ns = round(lo * 1e9), round(hi * 1e9)
    return Telemetry(
        metrics=tuple(metrics),
        logs=logs[bisect_left(logs, lo, key=_log_time) : bisect_right(logs, hi, key=_log_time)],
        spans=spans[bisect_left(spans, lo_ns, key=_span_start) : bisect_right(spans, hi_ns, key=_span_start)],
    )


@functools.lru_cache(maxsize=8)
def day_metrics(folder: Path) -> tuple[MetricSeries, ...]:
    """Return every numeric column of every `metric/<pod>_metric.csv` of `folder` as series."""
    columns_by_pod = {}
    for path in minute_files(folder / "metric"):
        pod = pod_of_metric_file(path)
        if pod is not None:
            columns_by_pod[pod] = to_columns(read_rows(path))
    return to_metric_series(columns_by_pod)


@functools.lru_cache(maxsize=8)
def day_logs(folder: Path) -> tuple[LogRecord, ...]:
    """Return every log line of `folder/log/`, sorted by time."""
    with _bulk_allocation():
        records = [r for path in minute_files(folder / "log") for r in to_logs(read_rows(path))]
    records.sort(key=_log_time)
    return tuple(records)


@functools.lru_cache(maxsize=8)
def day_spans(folder: Path) -> tuple[Span, ...]:
    """Return every span of `folder/trace/`, sorted by start."""
    with _bulk_allocation():
        spans = [s for path in minute_files(folder / "trace") for s in to_spans(read_rows(path))]
    spans.sort(key=_span_start)
    return tuple(spans)


@functools.lru_cache(maxsize=8)
def front_door(folder: Path) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    """Return the front-door SLI columns of `folder/metric/front_service.csv`, or none if absent."""
    path = _csv(folder / "metric", FRONT_DOOR_FILE)
    if path is None:
        return {}
    columns: dict[str, Series] = to_columns(read_rows(path))
    return {name: (s.timestamps, s.values) for name, s in columns.items()}


@functools.lru_cache(maxsize=8)
def reference_telemetry(folder: Path) -> Telemetry:
    """Return the fault-free logs and traces of a reference (construct) folder; no metrics."""
    return Telemetry(logs=day_logs(folder), spans=day_spans(folder))


@functools.lru_cache(maxsize=8)
def topology(folder: Path, reference: Path | None) -> ServiceGraph:
    """Return declared dependencies plus calls seen in all traces of `folder` and `reference`."""
    edges: set[tuple[ServiceId, ServiceId]] = set()
    services: set[ServiceId] = set()
    for one in (folder, reference):
        if one is None:
            continue
        dependency = _csv(one / "metric", "dependency")
        if dependency is not None:
            edges |= to_dependency_edges(read_rows(dependency))
        edges |= call_edges(day_spans(one))
    for path in minute_files(folder / "metric"):
        pod = pod_of_metric_file(path)
        if pod is not None:
            services.add(service_of_pod(pod))
    return ServiceGraph(edges=frozenset(edges), extra_services=frozenset(services))


def read_rows(path: Path) -> Rows:
    """Open a CSV file, plain or gzipped, for one pass over its rows (a million rows need no list)."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        text = raw.decode("utf-8-sig")
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise CaseFormatError(str(path), f"cannot be read: {error}") from None
    # Without a quote character no field can be quoted, so splitting on commas gives exactly what
    # the csv module would, three times faster; trace files (a million rows a day) never quote.
    rows = _split(text) if '"' not in text else _parse(text, str(path))
    header = next(rows, None)
    if header is None or header == []:
        raise CaseFormatError(str(path), "is empty: expected a header row")
    return Rows(path=str(path), header=tuple(header), rows=rows)


def _split(text: str) -> Iterator[list[str]]:
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        yield line.split(",") if line else []


def _parse(text: str, path: str) -> Iterator[list[str]]:
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as error:
        raise CaseFormatError(path, f"is not valid CSV: {error}") from None


@contextlib.contextmanager
def _bulk_allocation() -> Iterator[None]:
    """Pause the cyclic garbage collector while parsing a day's files.

    Parsing creates millions of small acyclic objects that all stay alive; each collection would
    rescan them all, which costs about a third of the load time and frees nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _csv(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.csv", f"{stem}.csv.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _log_time(record: LogRecord) -> float:
    return record.timestamp


def _span_start(span: Span) -> int:
    return span.start_ns
