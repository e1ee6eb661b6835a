"""Read spans: the call graph, each service's self time (children excluded), and where errors start."""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from missioncontrol.domain import ServiceGraph, ServiceId, Span


def call_edges(spans: Iterable[Span]) -> set[tuple[ServiceId, ServiceId]]:
    """Return caller → callee service pairs: a span whose parent span sits in another service."""
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    edges: set[tuple[ServiceId, ServiceId]] = set()
    for s in by_id.values():
        if s.parent_span_id is None:
            continue
        parent = by_id.get((s.trace_id, s.parent_span_id))
        if parent is not None and parent.service != s.service:
            edges.add((parent.service, s.service))
    return edges


def graph_from_spans(spans: Sequence[Span]) -> ServiceGraph:
    """Return the call graph observed in `spans`."""
    return ServiceGraph.from_edges(call_edges(spans), services={s.service for s in spans})


@dataclass(frozen=True, slots=True)
class SelfTimeShift:
    """How a service's own time per span changed after the onset."""

    service: ServiceId
    before_ms: float  # median self time in the reference period
    after_ms: float
    after_p90_ms: float
    before_p90_ms: float
    n_before: int
    n_after: int
    ratio: float  # after / before, on the 90th percentile


@dataclass(frozen=True, slots=True)
class ErrorOrigins:
    """Spans marked as errors: per service, those with no failing child (where the error started)."""

    originated: Mapping[ServiceId, int]
    propagated: Mapping[ServiceId, int]


def self_times_ms(spans: Sequence[Span]) -> dict[ServiceId, list[tuple[float, float]]]:
    """Return, per service, (start in Unix seconds, self time in ms) for each span.

    Self time is the span's duration minus the part covered by its direct children, so latency
    inherited from a slow callee is subtracted before blaming the caller.
    """
    children: defaultdict[tuple[str, str], list[Span]] = defaultdict(list)
    for s in spans:
        if s.parent_span_id is not None:
            children[(s.trace_id, s.parent_span_id)].append(s)
    out: defaultdict[ServiceId, list[tuple[float, float]]] = defaultdict(list)
    for s in spans:
        covered = 0
        kids = sorted(
            (
                (max(k.start_ns, s.start_ns), min(k.end_ns, s.end_ns))
                for k in children.get((s.trace_id, s.span_id), ())
            ),
        )
        cursor = s.start_ns
        for start, end in kids:
            start = max(start, cursor)
            if end > start:
                covered += end - start
                cursor = end
        own = max(s.duration_ns - covered, 0)
        out[s.service].append((s.start_ns / 1e9, own / 1e6))
    return dict(out)


def self_time_shifts(
    after: Sequence[Span], reference: Sequence[Span], *, min_spans: int = 5
) -> dict[ServiceId, SelfTimeShift]:
    """Compare each service's self time after the onset with the reference period."""
    before = self_times_ms(reference)
    now = self_times_ms(after)
    shifts: dict[ServiceId, SelfTimeShift] = {}
    for service in sorted(set(before) & set(now)):
        b = np.array([ms for _, ms in before[service]])
        a = np.array([ms for _, ms in now[service]])
        if b.size < min_spans or a.size < min_spans:
            continue
        b90 = float(np.percentile(b, 90))
        a90 = float(np.percentile(a, 90))
        shifts[service] = SelfTimeShift(
            service=service,
            before_ms=float(np.median(b)),
            after_ms=float(np.median(a)),
            after_p90_ms=a90,
            before_p90_ms=b90,
            n_before=int(b.size),
            n_after=int(a.size),
            ratio=(a90 + 1.0) / (b90 + 1.0),  # +1 ms: sub-millisecond jitter is not a fault
        )
    return shifts


def error_origins(spans: Sequence[Span]) -> ErrorOrigins:
    """Count failing spans per service: those that started the failure, and those that passed it on."""
    failing_children: set[tuple[str, str]] = set()
    for s in spans:
        if s.is_error and s.parent_span_id is not None:
            failing_children.add((s.trace_id, s.parent_span_id))
    originated: defaultdict[ServiceId, int] = defaultdict(int)
    propagated: defaultdict[ServiceId, int] = defaultdict(int)
    for s in spans:
        if not s.is_error:
            continue
        if (s.trace_id, s.span_id) in failing_children:
            propagated[s.service] += 1
        else:
            originated[s.service] += 1
    return ErrorOrigins(originated=dict(originated), propagated=dict(propagated))


def deepest_in_traces(
    spans: Sequence[Span], marked: Mapping[ServiceId, frozenset[str]]
) -> tuple[dict[ServiceId, int], dict[ServiceId, int]]:
    """Vote, trace by trace, for the deepest marked service: where an anomaly starts, not where it ends.

    `marked` gives, per service, the trace ids in which it showed an anomaly (e.g. a new log
    template). In each trace, a marked service with no marked service below it in the call tree
    gets an origin vote; every other marked service gets an inherited vote.
    """
    traces_of_interest: set[str] = set()
    for ids in marked.values():
        traces_of_interest.update(ids)
    by_trace: defaultdict[str, list[Span]] = defaultdict(list)
    for s in spans:
        if s.trace_id in traces_of_interest:
            by_trace[s.trace_id].append(s)
    origin: defaultdict[ServiceId, int] = defaultdict(int)
    inherited: defaultdict[ServiceId, int] = defaultdict(int)
    for trace_id in sorted(by_trace):
        members = {svc for svc, ids in marked.items() if trace_id in ids}
        if len(members) < 2:
            continue
        trace_spans = by_trace[trace_id]
        parent_of = {s.span_id: s.parent_span_id for s in trace_spans}
        service_of = {s.span_id: s.service for s in trace_spans}
        # For each marked service, the services above it (its ancestors in this trace).
        above: defaultdict[ServiceId, set[ServiceId]] = defaultdict(set)
        for s in trace_spans:
            if s.service not in members:
                continue
            parent = s.parent_span_id
            hops = 0
            while parent is not None and parent in service_of and hops < 64:
                above[s.service].add(service_of[parent])
                parent = parent_of.get(parent)
                hops += 1
        has_marked_below = {a for svc in members for a in above[svc] if a in members and a != svc}
        for svc in sorted(members):
            if svc in has_marked_below:
                inherited[svc] += 1
            else:
                origin[svc] += 1
    return dict(origin), dict(inherited)
