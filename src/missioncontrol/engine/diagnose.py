"""The diagnosis engine: from a case to a ranked, evidence-backed diagnosis.

    case ──► window (onset: given │ before the alert │ from the data)
         ──► scope (symptom's dependencies within k hops, changed services)
         ──► analyzers, in parallel ─┬─ metrics: robust z against the pre-onset baseline
                                     ├─ logs: drain3 templates that appeared, surged or vanished
                                     ├─ traces: self time, where errors start, deepest new log
                                     └─ changes: deploys near the onset (a hypothesis, never a verdict)
         ──► rank (own vs inherited, cause precedes effect) ──► hypotheses with evidence chains
         ──► confidence, weakened alternatives, blast radius

Deterministic: analyzers return values that are merged in a fixed order, so the number of workers
never changes the answer.
"""

import threading
from bisect import bisect_right
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from missioncontrol.domain import (
    CONFIDENT,
    Case,
    Change,
    Diagnosis,
    FaultKind,
    Hypothesis,
    LogRecord,
    ServiceGraph,
    ServiceId,
    Span,
    Telemetry,
    Weakened,
)
from missioncontrol.domain.collector import collector_paused
from missioncontrol.engine.evidence import cause_text, evidence_for, hop_evidence
from missioncontrol.engine.findings import ServiceFindings
from missioncontrol.engine.handlers import HandlerEnding, handler_endings
from missioncontrol.engine.logs import BrokenPair, LogFindings, find_template_shifts
from missioncontrol.engine.metrics import Grid, SeriesScore, score_series, to_grid
from missioncontrol.engine.onset import (
    ErrorLogs,
    OnsetSource,
    Window,
    onset_before_alert,
    onset_from_data,
    onset_from_logs,
)
from missioncontrol.engine.rank import (
    Scored,
    confidences,
    leading_faults,
    score_services,
)
from missioncontrol.engine.traces import (
    ErrorOrigins,
    NetworkShift,
    SpanTree,
    TimeShift,
    broken_calls,
    call_edges,
    deepest_in_traces,
    error_origins,
    network_shifts,
    self_time_shifts,
    span_times,
)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Tuning for the engine. One configuration serves every estate; nothing here names one."""

    lookback_s: float = 1800.0  # baseline: this long before the onset
    search_s: float = 600.0  # how far before the alert the onset may lie
    detection_delay_s: float = 180.0  # the onset is put at least this long before the alert
    max_after_s: float = 600.0  # how much data after the onset is weighed
    # With an alert, data up to this long after it is weighed: the brief is written when the alert
    # fires, two minutes show how the incident unfolds, and later minutes may hold the next one.
    after_alert_s: float = 120.0
    change_window_s: float = 1800.0  # changes this long before the onset are suspects
    log_lookback_s: float = 600.0  # logs are bulky: ten minutes before the onset is reference enough
    max_hops: int = 6  # scope: dependencies of the symptom within this many hops
    # Analyzer threads. One runs them inline: they are mostly pure Python, and under the GIL a pool
    # only adds switching (measured slower at 50, 500 and 5,000 services on 2 cores). More helps
    # where analyzers release the GIL (numpy-heavy estates, free-threaded builds).
    workers: int = 1
    top_k: int = 10  # hypotheses kept in the diagnosis
    # Calibration, fitted on the simulator suite (never on benchmark data): softmax temperature over
    # service scores, and the leader score at which "something real happened" is even odds.
    temperature: float = 0.6
    real_midpoint: float = 3.0
    real_width: float = 1.0

    def spans_weighed_before_alert_s(self) -> float:
        """Return how long before its alert a case's own spans are weighed, when it has a reference run.

        With a reference run holding spans (the case's `baseline`), the onset lies at most `search_s`
        before the alert and, before the onset, only the minutes compared with logs (`log_lookback_s`)
        or with recent self times (`RECENT_S`) are read; older spans of the case add nothing but call
        graph edges, which a live estate's world model holds anyway. A reader may leave them out.
        """
        return self.search_s + max(RECENT_S, self.log_lookback_s)


class ReferenceTrees:
    """The span tree of the reference run the last diagnosis read, kept for the next one.

    Cases diagnosed in a row mostly share one reference run (a live estate's healthy window, a
    dataset day's normal period), and its tree and the summaries analyses derive from it (call
    edges, self times, handler endings) cost as much as a fifth of a diagnosis to rebuild. Keyed by
    the identity of the reference's spans, which it holds, so the key is never reused while held;
    only the latest is kept, so at most one reference run outlives its last case.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: tuple[Sequence[Span], SpanTree] | None = None

    def tree(self, spans: Sequence[Span]) -> SpanTree:
        """Return the tree of `spans`, the one built last time if these are the same spans."""
        with self._lock:
            if self._latest is not None and self._latest[0] is spans:
                return self._latest[1]
        tree = SpanTree(spans)
        with self._lock:
            self._latest = (spans, tree)
        return tree


class Engine:
    """Mission Control's diagnosis engine (a `Diagnoser`)."""

    name = "missioncontrol"

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.references = ReferenceTrees()

    def diagnose(self, case: Case) -> Diagnosis:
        """Return the ranked diagnosis of `case`: evidence, path, weakened alternatives, blast radius.

        The cyclic garbage collector is paused meanwhile: a diagnosis builds hundreds of thousands
        of short-lived, acyclic objects (span lists, trees, per-call times) it would only re-scan.
        """
        with collector_paused():
            return self._diagnose(case)

    def _diagnose(self, case: Case) -> Diagnosis:
        cfg = self.config
        if case.alert is not None and case.known_onset_at is None:
            # The brief is written as the alert fires, plus `after_alert_s` of the incident unfolding:
            # nothing later exists yet in a live estate, so nothing later is read here either.
            case = as_of(case, case.alert.started_at.timestamp() + cfg.after_alert_s)
        baseline_tree = self.references.tree(case.baseline.spans) if case.baseline.spans else None
        graph = _graph_of(case, baseline_tree)
        symptoms = _symptoms(case, graph)
        scope = _scope(case, graph, symptoms, max_hops=cfg.max_hops)
        metrics = [m for m in case.telemetry.metrics if scope is None or m.service in scope]
        grid = to_grid(metrics)
        window = self._window(case, grid, scope)
        reference_grid = to_grid([m for m in case.baseline.metrics if scope is None or m.service in scope])

        after_logs, reference_logs = _split_logs(case, window, cfg.log_lookback_s, scope)
        after_spans, reference_spans = _split_spans(case, window, cfg.lookback_s)
        log_spans = _log_spans(case, window, cfg.log_lookback_s, scope, after_spans)
        after_tree = SpanTree(after_spans)
        reference_tree = baseline_tree if baseline_tree is not None else SpanTree(reference_spans)
        # The analyzers are independent; each returns a value and they are merged in a fixed order,
        # so the number of workers never changes the answer.
        with _pool(cfg.workers) as pool:
            series_scores = pool.submit(
                score_series,
                grid,
                onset=window.onset,
                end=window.end,
                lookback_s=cfg.lookback_s,
                reference=reference_grid if reference_grid.keys else None,
            )
            log_findings_ = pool.submit(
                find_template_shifts,
                after_logs,
                reference_logs,
                after_spans=log_spans[0],
                reference_spans=log_spans[1],
            )
            time_shifts = pool.submit(_time_shifts, after_tree, reference_tree, _recent_spans(case, window))
            origins = pool.submit(lambda: (error_origins(after_spans), error_origins(reference_spans)))
            calls = pool.submit(broken_calls, after_tree, reference_tree)
            endings = pool.submit(handler_endings, after_tree, reference_tree)
        log_findings = log_findings_.result()
        findings = _gather(
            scope,
            series_scores.result(),
            log_findings,
            time_shifts.result(),
            origins.result(),
            _recent_changes(case.changes, window, cfg.change_window_s),
            calls.result(),
            endings.result(),
        )
        if any(f.log_shifts or f.broken_pairs for f in findings.values()) and after_spans:
            marked = {s: f.log_trace_ids() for s, f in findings.items()}
            origin, inherited = deepest_in_traces(after_spans, {s: ids for s, ids in marked.items() if ids})
            present = {s.trace_id for s in after_spans}
            for service, ids in marked.items():
                findings[service].log_traces_seen = len(ids & present)
            for service, votes in origin.items():
                findings[service].log_origin_votes = votes
            for service, votes in inherited.items():
                findings[service].log_inherited_votes = votes

        scored = score_services(findings, graph, max_hops=cfg.max_hops, step_s=grid.step)
        return _to_diagnosis(case, self.name, cfg, window, graph, symptoms, findings, scored, log_findings)

    def _window(self, case: Case, grid: Grid, scope: frozenset[ServiceId] | None) -> Window:
        cfg = self.config
        last = float(grid.times[-1]) if grid.times.size else 0.0
        if case.known_onset_at is not None:
            onset = case.known_onset_at.timestamp()
            return Window(onset, min(last, onset + cfg.max_after_s), OnsetSource.GIVEN, "fault start given")
        if not grid.keys:
            anchor = case.alert.started_at.timestamp() if case.alert else last
            return Window(anchor, anchor, OnsetSource.ALERT, "no metrics: onset taken as the alert time")
        if case.alert is not None:
            alert_at = case.alert.started_at.timestamp()
            onset, why = onset_before_alert(
                grid,
                alert_at=alert_at,
                search_s=cfg.search_s,
                lookback_s=cfg.lookback_s,
                detection_delay_s=cfg.detection_delay_s,
                errors=_error_logs(
                    case,
                    scope,
                    since=alert_at - cfg.search_s,
                    until=alert_at + cfg.after_alert_s,
                    lookback_s=cfg.log_lookback_s,
                ),
            )
            end = min(last, onset + cfg.max_after_s, alert_at + cfg.after_alert_s)
            return Window(onset, end, OnsetSource.ALERT, why)
        onset, why = onset_from_data(grid, search_s=cfg.search_s, lookback_s=cfg.lookback_s)
        # A change point splits between two samples; analyse from one step before it.
        start = onset - grid.step
        errors = _error_logs(
            case, scope, since=last - cfg.search_s, until=last, lookback_s=cfg.log_lookback_s
        )
        found = onset_from_logs(errors, start=last - cfg.search_s)
        if found is not None and found[0] < onset:
            # The first new error line is the first sign itself, not a split between two samples.
            onset, why = found
            start = onset
        # As many minutes after the onset as a brief written at an alert weighs (the detection delay
        # and the minutes after the alert): later data may hold the next incident.
        end = min(last, onset + cfg.max_after_s, onset + cfg.detection_delay_s + cfg.after_alert_s)
        return Window(start, end, OnsetSource.DATA, why, estimate=onset)


def _error_logs(
    case: Case, scope: frozenset[ServiceId] | None, *, since: float, until: float, lookback_s: float
) -> ErrorLogs:
    """Return the in-scope log lines of [since, until] and the normal-times lines to compare them with:
    the reference run's, else the `lookback_s` before `since`."""

    def wanted(r: LogRecord) -> bool:
        return scope is None or r.service in scope

    lines = [r for r in case.telemetry.logs if since <= r.timestamp <= until and wanted(r)]
    if case.baseline.logs:
        # A known-healthy run beats the minutes before the search, which may hold an earlier fault.
        reference = [r for r in case.baseline.logs if wanted(r)]
    else:
        reference = [
            r for r in case.telemetry.logs if since - lookback_s <= r.timestamp < since and wanted(r)
        ]
    return ErrorLogs(lines, reference, until)


ALTERNATIVE_FAULT_WEIGHT = 1.0
T = TypeVar("T")


class _Inline:
    """An executor that runs each task at once in the caller's thread (`workers=1`)."""

    def __enter__(self) -> "_Inline":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> "Future[T]":
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # re-raised by result(), as a pool's future would
            future.set_exception(exc)
        return future


def _pool(workers: int) -> "ThreadPoolExecutor | _Inline":
    return _Inline() if workers <= 1 else ThreadPoolExecutor(max_workers=workers)


def as_of(case: Case, horizon: float) -> Case:
    """Return `case` with only what had been observed by `horizon` (Unix seconds).

    Metric samples, log lines, spans and changes up to it. A span counts by its start, as the
    window does: cutting by its end would drop exactly the slowest calls of a slowdown, which a
    brief refreshed seconds later has. The baseline is a separate period and is kept whole.
    """
    t = case.telemetry
    horizon_ns = horizon * 1e9
    metrics = []
    for m in t.metrics:
        keep = bisect_right(m.timestamps, horizon)
        metrics.append(
            m
            if keep == len(m.timestamps)
            else replace(m, timestamps=m.timestamps[:keep], values=m.values[:keep])
        )
    return replace(
        case,
        telemetry=Telemetry(
            metrics=tuple(metrics),
            logs=tuple(r for r in t.logs if r.timestamp <= horizon),
            spans=tuple(s for s in t.spans if s.start_ns <= horizon_ns),
        ),
        changes=tuple(c for c in case.changes if c.at.timestamp() <= horizon),
    )


def _graph_of(case: Case, baseline_tree: SpanTree | None = None) -> ServiceGraph | None:
    edges: set[tuple[ServiceId, ServiceId]] = set(case.graph.edges) if case.graph else set()
    edges |= call_edges(case.telemetry.spans)
    edges |= call_edges(baseline_tree if baseline_tree is not None else case.baseline.spans)
    if not edges:
        return None
    extra = case.graph.extra_services if case.graph else frozenset()
    return ServiceGraph(edges=frozenset(edges), extra_services=extra)


def _symptoms(case: Case, graph: ServiceGraph | None) -> tuple[ServiceId, ...]:
    """Return where the trouble is seen: the alerting service, or else the estate's entry points.

    An entry point is a service nobody calls that calls others: where requests come in and flow
    down. A service the graph knows but that calls and is called by no one (declared, idle in the
    window) is no way in for a user-facing symptom; only a graph of such services alone takes them
    all. So whether a catalog also lists idle services does not change what is suspected.
    """
    if case.alert is not None and case.alert.service is not None:
        return (case.alert.service,)
    if graph is None:
        return ()
    uncalled = sorted(s for s in graph.services if not graph.callers(s))
    entries = tuple(s for s in uncalled if graph.callees(s))
    return entries or tuple(uncalled)


def _scope(
    case: Case, graph: ServiceGraph | None, symptoms: Sequence[ServiceId], *, max_hops: int
) -> frozenset[ServiceId] | None:
    """Return the suspects: the symptoms' dependencies within k hops plus changed services (None = all)."""
    if graph is None or not symptoms:
        return None
    suspects: set[ServiceId] = set()
    for symptom in symptoms:
        suspects.update(graph.downstream(symptom, max_hops=max_hops))
    suspects.update(c.service for c in case.changes)
    if not _any_seen(case.telemetry, suspects):
        return None  # the graph and the telemetry disagree on names: do not scope everything away
    return frozenset(suspects)


def _any_seen(telemetry: Telemetry, services: set[ServiceId]) -> bool:
    """Return True if any metric, log line or span is of one of `services`.

    Same answer as `services & telemetry.services`, but stops at the first hit instead of building
    the set of every service named by tens of thousands of lines and spans.
    """
    return (
        any(m.service in services for m in telemetry.metrics)
        or any(r.service in services for r in telemetry.logs)
        or any(s.service in services for s in telemetry.spans)
    )


def _split_logs(
    case: Case, window: Window, lookback_s: float, scope: frozenset[ServiceId] | None
) -> tuple[list[LogRecord], list[LogRecord]]:
    """Return the in-scope log lines after the onset, and the reference lines to compare them with."""

    # Mining is the costliest step: lines of services outside the scope cannot name a suspect.
    # One pass over the window's lines sorts them into both periods (tens of thousands at scale).
    after: list[LogRecord] = []
    before: list[LogRecord] = []
    want_before = not case.baseline.logs
    onset, end, since = window.onset, window.end, window.onset - lookback_s
    for r in case.telemetry.logs:
        if scope is not None and r.service not in scope:
            continue
        if onset <= r.timestamp <= end:
            after.append(r)
        elif want_before and since <= r.timestamp < onset:
            before.append(r)
    if not want_before:
        # A known-healthy period beats the minutes before the onset, which may hold an earlier fault.
        return after, [r for r in case.baseline.logs if scope is None or r.service in scope]
    return after, before


def _split_spans(case: Case, window: Window, lookback_s: float) -> tuple[list[Span], Sequence[Span]]:
    lo_ns, hi_ns = window.onset * 1e9, window.end * 1e9
    after = [s for s in case.telemetry.spans if lo_ns <= s.start_ns <= hi_ns]
    if case.baseline.spans:
        return after, case.baseline.spans  # read only: no copy
    before = [s for s in case.telemetry.spans if lo_ns - lookback_s * 1e9 <= s.start_ns < lo_ns]
    return after, before


def _log_spans(
    case: Case,
    window: Window,
    lookback_s: float,
    scope: frozenset[ServiceId] | None,
    after_spans: Sequence[Span],
) -> tuple[list[Span], list[Span]]:
    """Return the in-scope spans of the same periods as the log lines that `_split_logs` compares."""

    def wanted(s: Span) -> bool:
        return scope is None or s.service in scope

    after = [s for s in after_spans if wanted(s)]
    if case.baseline.logs:
        return after, [s for s in case.baseline.spans if wanted(s)]
    lo_ns = window.onset * 1e9
    before = [s for s in case.telemetry.spans if lo_ns - lookback_s * 1e9 <= s.start_ns < lo_ns and wanted(s)]
    return after, before


def _recent_spans(case: Case, window: Window) -> list[Span] | None:
    """Return the spans of the minutes just before the onset, where a separate baseline is used."""
    if not case.baseline.spans:
        return None  # the reference already is the minutes before the onset
    lo_ns = window.onset * 1e9
    return [s for s in case.telemetry.spans if lo_ns - RECENT_S * 1e9 <= s.start_ns < lo_ns]


RECENT_S = 300.0


def _time_shifts(
    after: SpanTree, reference: SpanTree, recent: Sequence[Span] | None
) -> tuple[dict[ServiceId, TimeShift], dict[ServiceId, NetworkShift]]:
    now, before = span_times(after), span_times(reference)
    own = self_time_shifts(now, before)
    if recent:
        # A service already that slow in the minutes before the onset differs from the baseline
        # run for some other reason (another day, another load): it did not change with the fault.
        lately = self_time_shifts(now, span_times(recent))
        own = {
            s: shift for s, shift in own.items() if s not in lately or lately[s].ratio > ALREADY_SLOW_RATIO
        }
    return own, network_shifts(now, before)


ALREADY_SLOW_RATIO = 1.5


def _recent_changes(changes: Sequence[Change], window: Window, change_window_s: float) -> list[Change]:
    return [c for c in changes if window.onset - change_window_s <= c.at.timestamp() <= window.end]


def _gather(
    scope: frozenset[ServiceId] | None,
    series_scores: Sequence[SeriesScore],
    log_findings: LogFindings,
    time_shifts: tuple[dict[ServiceId, TimeShift], dict[ServiceId, NetworkShift]],
    origins: tuple[ErrorOrigins, ErrorOrigins],
    changes: Sequence[Change],
    broken_calls: Sequence[BrokenPair],
    endings: Sequence[HandlerEnding],
) -> dict[ServiceId, ServiceFindings]:
    findings: dict[ServiceId, ServiceFindings] = {}

    def at(service: ServiceId) -> ServiceFindings | None:
        if scope is not None and service not in scope:
            return None
        return findings.setdefault(service, ServiceFindings(service))

    for s in series_scores:
        if (f := at(s.service)) is not None:
            f.metrics.setdefault(s.family, []).append(s)
    for shift in log_findings.shifts:
        if (f := at(shift.service)) is not None:
            f.log_shifts.append(shift)
    for pair in (*log_findings.broken_pairs, *broken_calls):
        if (f := at(pair.service)) is not None:
            f.broken_pairs.append(pair)
    self_times, networks = time_shifts
    for service, shift_ in self_times.items():
        if (f := at(service)) is not None:
            f.self_time = shift_
    for service, net in networks.items():
        if (f := at(service)) is not None:
            f.network = net
    after, before = origins
    for service, n in after.originated.items():
        if (f := at(service)) is not None:
            f.errors_originated = n
            f.errors_originated_before = before.originated.get(service, 0)
    for change in changes:
        if (f := at(change.service)) is not None:
            f.changes.append(change)
    for ending in endings:
        if (f := at(ending.blamed)) is not None:
            f.handler_endings.append(ending)
        if not ending.is_own and (f := at(ending.caller)) is not None:
            f.stops_after = ending
    return findings


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _path_to(
    graph: ServiceGraph | None, symptoms: Sequence[ServiceId], suspect: ServiceId
) -> tuple[ServiceId, ...]:
    if graph is None:
        return (suspect,)
    best: tuple[ServiceId, ...] | None = None
    for symptom in symptoms:
        p = graph.path(symptom, suspect)
        if p is not None and (best is None or len(p) < len(best)):
            best = p
    return best or (suspect,)


def _to_diagnosis(
    case: Case,
    method: str,
    cfg: EngineConfig,
    window: Window,
    graph: ServiceGraph | None,
    symptoms: tuple[ServiceId, ...],
    findings: dict[ServiceId, ServiceFindings],
    scored: list[Scored],
    log_findings: LogFindings,
) -> Diagnosis:
    span = (_utc(window.onset), _utc(max(window.end, window.onset)))
    began = _utc(window.began_at)
    probs = confidences(
        [s.total for s in scored],
        temperature=cfg.temperature,
        midpoint=cfg.real_midpoint,
        width=cfg.real_width,
    )
    scored_by = {s.service: s for s in scored}
    hypotheses: list[Hypothesis] = []
    for s, p in zip(scored[: cfg.top_k], probs[: cfg.top_k], strict=False):
        if s.total <= 0.0:
            continue
        by_fault = s.by_fault()
        has_change = bool(findings[s.service].changes)
        likelihood = leading_faults(s)
        faults = list(likelihood)
        # Alternative fault kinds of the same suspect are kept where they carry real weight.
        faults = faults[:1] + [k for k in faults[1:] if by_fault[k] >= ALTERNATIVE_FAULT_WEIGHT]
        weight_of_kept = sum(likelihood[k] for k in faults)
        path = _path_to(graph, symptoms, s.service)
        evidence = tuple(
            evidence_for(s, findings[s.service], span, log_findings) + hop_evidence(path, scored_by, span)
        )
        for rank, fault in enumerate(faults):
            # The service's probability is split over its fault kinds by their weight.
            share = likelihood[fault] / weight_of_kept if weight_of_kept > 0 else 1.0
            lead = max((c for c in s.contributions if c.fault == fault), key=lambda c: c.weight, default=None)
            if (
                rank == 0
                and has_change
                and fault in (FaultKind.ERRORS, FaultKind.WRONG_OUTPUT, FaultKind.LATENCY)
            ):
                # A change explains the fault only when the service's own signals went wrong too:
                # errors inherited from a callee make a nearby deploy a red herring, not a cause.
                own = sum(c.weight for c in s.contributions if c.fault == fault and c.inherited_from is None)
                fault = FaultKind.BAD_CHANGE if own >= 1.0 else fault
            hypotheses.append(
                Hypothesis(
                    service=s.service,
                    fault=fault,
                    cause=cause_text(s.service, fault, lead),
                    score=s.total if rank == 0 else by_fault[fault],
                    confidence=round(p * share, 4),
                    path=path,
                    evidence=evidence,
                    onset_at=_utc(s.onset) if s.onset is not None else None,
                )
            )
    service_rank = {s.service: i for i, s in enumerate(scored)}
    # Suspects in the order of their probability, each one's fault kinds together, likeliest first.
    hypotheses.sort(key=lambda h: (service_rank[h.service], -h.confidence, h.fault.value))
    top = hypotheses[0] if hypotheses else None
    weakened = _weakened(hypotheses, top, scored_by, findings)
    blast: tuple[ServiceId, ...] = ()
    if top is not None and graph is not None:
        blast = tuple(
            sorted(s for s in graph.upstream(top.service, max_hops=cfg.max_hops) if s != top.service)
        )
    notes = [f"onset {began:%Y-%m-%d %H:%M:%S}Z ({window.source.value}): {window.explanation}"]
    if top is None or sum(h.confidence for h in hypotheses if h.service == top.service) < CONFIDENT:
        notes.append("no confident cause: the evidence does not single out one service")
    return Diagnosis(
        case_id=case.id,
        method=method,
        symptom=symptoms[0] if len(symptoms) == 1 else (case.alert.service if case.alert else None),
        onset_at=began,
        window=span,
        hypotheses=tuple(hypotheses),
        weakened=weakened,
        blast_radius=blast,
        notes=tuple(notes),
    )


def _weakened(
    hypotheses: Sequence[Hypothesis],
    top: Hypothesis | None,
    scored_by: dict[ServiceId, Scored],
    findings: dict[ServiceId, ServiceFindings],
) -> tuple[Weakened, ...]:
    """Return the leading alternatives with the reason each lost to the top hypothesis."""
    if top is None:
        return ()
    out: list[Weakened] = []
    seen = {top.service}
    top_onset = scored_by[top.service].onset
    for h in hypotheses:
        if h.service in seen:
            continue
        seen.add(h.service)
        s = scored_by[h.service]
        inherited = [c for c in s.contributions if c.inherited_from is not None]
        if inherited:
            reason = f"its {inherited[0].label} is largely inherited from {inherited[0].inherited_from}"
        elif top_onset is not None and s.onset is not None and s.onset > top_onset:
            delay = s.onset - top_onset
            reason = f"its anomaly began {delay:.0f} s after {top.service}'s: an effect, not the cause"
        else:
            reason = f"weaker own evidence: score {s.total:.2f} against {scored_by[top.service].total:.2f}"
        out.append(Weakened(hypothesis=h, reason=reason))
        if len(out) >= 5:
            break
    for service, f in sorted(findings.items()):
        if service in seen or not f.changes:
            continue
        change = f.changes[0]
        reason = (
            f"{change.kind.value} at {change.at:%H:%M:%S} is close to the onset, "
            f"but {service}'s own signals show no fault"
        )
        out.append(
            Weakened(
                hypothesis=Hypothesis(
                    service=service,
                    fault=FaultKind.BAD_CHANGE,
                    cause=f"a bad {change.kind.value} of {service}",
                    score=0.0,
                    confidence=0.0,
                    path=(service,),
                    evidence=(),
                    onset_at=change.at,
                ),
                reason=reason,
            )
        )
    return tuple(out)
