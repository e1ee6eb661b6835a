"""Read spans: the call graph, each service's self time (children excluded), and where errors start."""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from missioncontrol.domain import ServiceGraph, ServiceId, Span
from missioncontrol.engine.logs import SPAN_MARK, BrokenPair, find_broken_pairs, pairs_together

SpanKey = tuple[str, str]  # (trace id, span id): span ids need only be unique within their trace


class SpanTree:
    """The spans of one period indexed by identity and by parent.

    Several analyses walk the same spans' parent links; at thousands of services building these
    maps is a good part of their cost, so a diagnosis builds them once per period and shares them.
    """

    __slots__ = ("by_id", "children", "derived", "in_start_order", "spans")

    def __init__(self, spans: Sequence[Span]) -> None:
        self.spans = spans
        # What analyses worked out from these spans, by analysis: a reference period's tree is kept
        # across diagnoses (`diagnose.ReferenceTrees`), and its summaries need not be redone each time.
        self.derived: dict[str, object] = {}
        self.by_id: dict[SpanKey, Span] = {}
        self.children: defaultdict[SpanKey, list[Span]] = defaultdict(list)
        self.in_start_order = True  # as most readers return them; see `span_times`
        last = -(2**63)
        for s in spans:
            self.by_id[(s.trace_id, s.span_id)] = s
            if s.parent_span_id is not None:
                self.children[(s.trace_id, s.parent_span_id)].append(s)
            if s.start_ns < last:
                self.in_start_order = False
            last = s.start_ns


def tree_of(spans: "Sequence[Span] | SpanTree") -> SpanTree:
    """Return `spans` as a `SpanTree`, building it unless it is one already."""
    return spans if isinstance(spans, SpanTree) else SpanTree(spans)


def call_edges(spans: "Iterable[Span] | SpanTree") -> frozenset[tuple[ServiceId, ServiceId]]:
    """Return caller → callee service pairs: a span whose parent span sits in another service."""
    if isinstance(spans, SpanTree):
        known = spans.derived.get("call_edges")
        if isinstance(known, frozenset):
            return known
        by_id = spans.by_id
    else:
        by_id = {(s.trace_id, s.span_id): s for s in spans}
    edges: set[tuple[ServiceId, ServiceId]] = set()
    for s in by_id.values():
        if s.parent_span_id is None:
            continue
        parent = by_id.get((s.trace_id, s.parent_span_id))
        if parent is not None and parent.service != s.service:
            edges.add((parent.service, s.service))
    found = frozenset(edges)
    if isinstance(spans, SpanTree):
        spans.derived["call_edges"] = found
    return found


def graph_from_spans(spans: Sequence[Span]) -> ServiceGraph:
    """Return the call graph observed in `spans`."""
    return ServiceGraph.from_edges(call_edges(spans), services={s.service for s in spans})


@dataclass(frozen=True, slots=True)
class ErrorOrigins:
    """Spans marked as errors: per service, those with no failing child (where the error started)."""

    originated: Mapping[ServiceId, int]
    propagated: Mapping[ServiceId, int]


Edge = tuple[ServiceId, ServiceId]


@dataclass(frozen=True, slots=True)
class SpanTimes:
    """Where the time of a set of spans went: inside services, or on the calls between them."""

    own_ms: dict[ServiceId, list[float]]  # per service: self time of its spans that call no one else
    # per caller → callee: time of each call outside the callee, in the order the calls started
    edge_ms: dict[Edge, list[float]]


def span_times(spans: "Sequence[Span] | SpanTree") -> SpanTimes:
    """Split span time into each service's own work and the time spent on calls between services.

    Self time is a span's duration minus the part covered by its direct children, so latency
    inherited from a slow callee is subtracted before blaming the caller. A span whose children
    run in another service is the caller's side of a call (an OpenTelemetry client span): its self
    time is the wire and the client library, so it is booked to the edge, not to the caller —
    that is where a network delay on either end shows up.
    """
    given = tree = tree_of(spans)
    known = given.derived.get("span_times")
    if isinstance(known, SpanTimes):
        return known
    if not tree.in_start_order:
        # Each edge's calls are listed in the order they started (`_latest` takes the later ones).
        tree = SpanTree(sorted(tree.spans, key=lambda s: s.start_ns))
    children = tree.children
    own: defaultdict[ServiceId, list[float]] = defaultdict(list)
    edges: defaultdict[Edge, list[float]] = defaultdict(list)
    for s in tree.spans:
        kids = children.get((s.trace_id, s.span_id))
        if kids is None:
            # A leaf (most spans): all of its time is its own; skip the interval sweep below.
            own[s.service].append(max(s.end_ns - s.start_ns, 0) / 1e6)
            continue
        covered = 0
        cursor = s.start_ns
        for start, end in sorted((max(k.start_ns, s.start_ns), min(k.end_ns, s.end_ns)) for k in kids):
            start = max(start, cursor)
            if end > start:
                covered += end - start
                cursor = end
        self_ms = max(s.duration_ns - covered, 0) / 1e6
        callees = {k.service for k in kids if k.service != s.service}
        if len(callees) == 1:
            edges[(s.service, next(iter(callees)))].append(self_ms)
        else:
            own[s.service].append(self_ms)
    times = SpanTimes(own_ms=dict(own), edge_ms=dict(edges))
    given.derived["span_times"] = times  # read-only from here on: callers never change it
    return times


@dataclass(frozen=True, slots=True)
class TimeShift:
    """How a distribution of times (ms) moved from the reference period to after the onset."""

    before_ms: float  # median
    after_ms: float
    before_p90_ms: float
    after_p90_ms: float
    n_before: int
    n_after: int
    ratio: float  # after / before, on the 90th percentile, +1 ms so that jitter is not a fault


def time_shift(before: Sequence[float], after: Sequence[float], *, min_spans: int = 5) -> TimeShift | None:
    """Return the shift of `after` against `before`, or None with too few samples to say."""
    if len(before) < min_spans or len(after) < min_spans:
        return None
    b = np.asarray(before)
    a = np.asarray(after)
    b90 = float(np.percentile(b, 90))
    a90 = float(np.percentile(a, 90))
    return TimeShift(
        before_ms=float(np.median(b)),
        after_ms=float(np.median(a)),
        before_p90_ms=b90,
        after_p90_ms=a90,
        n_before=int(b.size),
        n_after=int(a.size),
        ratio=(a90 + 1.0) / (b90 + 1.0),
    )


@dataclass(frozen=True, slots=True)
class NetworkShift:
    """Calls into one service (or, for a service no one calls, out of it) that got slower on the wire."""

    service: ServiceId
    ratio: float  # lower median over those edges of each edge's median-call ratio
    edges: tuple[tuple[Edge, TimeShift], ...]  # the edges judged, slowest first
    inbound: bool = True  # the edges are calls into the service (False: calls out of it)


def network_shifts(
    after: SpanTimes, reference: SpanTimes, *, min_edges: int = 1, min_calls: int = 5
) -> dict[ServiceId, NetworkShift]:
    """Score each service by how much slower every call into it became, as its callers timed them.

    A delay on a service's network is felt by everyone who calls it, whoever they are: its callers'
    client spans grow while its own server spans do not. A slow edge between two otherwise healthy
    services points at neither in particular. Taking the (lower) median over the calls into a
    service rewards the first pattern and not the second, and a caller with one slow callee is not
    blamed for it: its own callers see nothing. A service nobody calls (an entry point) is judged
    on its calls out instead. Each edge is judged on its median call time, not a tail: a delay on
    the wire slows every call, while a burst of slow calls moves only the tail. Five calls in each
    period are enough for that median, as for self times: a leaf called once per checkout makes
    only a handful of calls in an incident's minutes. After the onset, an edge with enough calls is
    judged on its later half (`_latest`): what the calls are like now.
    """
    shifts = {
        edge: shift
        for edge in sorted(set(after.edge_ms) & set(reference.edge_ms))
        if (
            shift := time_shift(
                reference.edge_ms[edge], _latest(after.edge_ms[edge], min_calls), min_spans=min_calls
            )
        )
        is not None
    }
    into: defaultdict[ServiceId, list[tuple[Edge, TimeShift]]] = defaultdict(list)
    out_of: defaultdict[ServiceId, list[tuple[Edge, TimeShift]]] = defaultdict(list)
    for edge, shift in shifts.items():
        out_of[edge[0]].append((edge, shift))
        into[edge[1]].append((edge, shift))
    found: dict[ServiceId, NetworkShift] = {}
    for service in sorted(set(into) | set(out_of)):
        inbound = service in into
        edges = into[service] if inbound else out_of[service]
        if len(edges) < min_edges:
            continue
        found[service] = NetworkShift(
            service=service,
            ratio=_lower_median([(s.after_ms + 1.0) / (s.before_ms + 1.0) for _, s in edges]),
            edges=tuple(sorted(edges, key=lambda e: -e[1].ratio)),
            inbound=inbound,
        )
    return found


def _latest(calls: list[float], min_calls: int) -> list[float]:
    # The later half of an edge's calls in the window, where there are enough for two medians. A brief
    # says what is wrong now, and an onset estimated early (the found onset can be a minute or two
    # before the fault) fills the window's first part with healthy calls: a leaf called once per
    # checkout, slowed to a few calls a minute by the delay itself, was outvoted by them.
    return calls[len(calls) // 2 :] if len(calls) >= 2 * min_calls else calls


def _lower_median(values: Sequence[float]) -> float:
    # With an even count the usual median averages the middle two, so one slow edge of two would
    # carry half the verdict: a service with one slow callee and one healthy caller is not slow on
    # the wire. The lower of the middle two asks that at least half the edges slowed.
    ordered = sorted(values)
    return float(ordered[(len(ordered) - 1) // 2])


def self_time_shifts(after: SpanTimes, reference: SpanTimes) -> dict[ServiceId, TimeShift]:
    """Compare each service's own time per span after the onset with the reference period."""
    return {
        service: shift
        for service in sorted(set(after.own_ms) & set(reference.own_ms))
        if (shift := time_shift(reference.own_ms[service], after.own_ms[service])) is not None
    }


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


CALL_MARK = "call "  # a call that reached the other service, as a member of a broken pair
TRY_MARK = "try "  # a client span of the caller, whether or not its call reached anyone
MAX_REFERENCE_ENTRIES = 500


def broken_calls(
    after: "Sequence[Span] | SpanTree", reference: "Sequence[Span] | SpanTree", *, max_trace_ids: int = 200
) -> tuple[BrokenPair, ...]:
    """Find operations that stopped making a call, and calls that stopped reaching their callee.

    The trace twins of a broken log pair. Per entry span of a service (its handler of a request),
    its client spans ("try") and the calls they got through to another service ("call") are what
    the span holds. An exception or an early return ends a handler before the calls that normally
    follow: its entry operation no longer tries them, a changed code path of that service. A client
    span whose callee no longer records serving it points the other way: at the callee. An
    endpoint nobody called (a change of workload) breaks nothing: its spans are missing too.
    """
    ids: dict[str, int] = {}
    texts: dict[int, str] = {}

    def id_of(text: str, *, negative: bool = False) -> int:
        found = ids.get(text)
        if found is None:
            found = -1 - len(ids) if negative else 1 + len(ids)
            ids[text] = found
            texts[found] = text
        return found

    # Which client operation of which service calls whom, as the reference period shows it.
    callee_of: dict[tuple[ServiceId, str], ServiceId] = {}

    def held_by_entries(
        tree: SpanTree, *, learn: bool, openers: frozenset[tuple[ServiceId, str]] | None = None
    ) -> tuple[dict[tuple[ServiceId, str], set[int]], dict[tuple[ServiceId, str], tuple[float, str]]]:
        spans = tree.spans
        if not spans:
            return {}, {}
        by_id, kids = tree.by_id, tree.children
        # A span still open when the data ends may simply not have made its calls yet.
        last_start = max(s.start_ns for s in spans)
        held: dict[tuple[ServiceId, str], set[int]] = {}
        meta: dict[tuple[ServiceId, str], tuple[float, str]] = {}
        for entry in spans:
            key = (entry.service, entry.operation)
            if openers is not None and key not in openers:
                continue  # no pair starts at this operation: nothing to check
            parent = by_id.get((entry.trace_id, entry.parent_span_id or ""))
            if (parent is not None and parent.service == entry.service) or entry.end_ns > last_start:
                continue
            if learn:
                # A few hundred requests per operation say what it normally calls.
                seen[key] += 1
                if seen[key] > MAX_REFERENCE_ENTRIES:
                    continue
            items = {id_of(f"{SPAN_MARK}{entry.operation}", negative=True)}
            stack = [entry]
            while stack:
                here = stack.pop()  # always of the entry's service: only those are stacked
                # Most spans are leaves: look their children up once, and split only real ones.
                remote: tuple[Span, ...] = ()
                local: tuple[Span, ...] = ()
                children = kids.get((here.trace_id, here.span_id))
                if children is not None:
                    remote = tuple(k for k in children if k.service != here.service)
                    local = tuple(k for k in children if k.service == here.service)
                client = (entry.service, here.operation)
                if learn and remote and here is not entry:
                    callee_of.setdefault(client, min(k.service for k in remote))
                if here is not entry and client in callee_of:
                    items.add(id_of(f"{TRY_MARK}{here.operation}"))
                    if remote:
                        items.add(id_of(f"{CALL_MARK}{here.operation}"))
                stack.extend(local)
            # Span ids need only be unique within their trace.
            held[(entry.service, f"{entry.trace_id}/{entry.span_id}")] = items
            meta[(entry.service, f"{entry.trace_id}/{entry.span_id}")] = (
                entry.start_ns / 1e9,
                entry.trace_id,
            )
        return held, meta

    seen: Counter[tuple[ServiceId, str]] = Counter()
    before, _ = held_by_entries(tree_of(reference), learn=True)
    learned = pairs_together(before)
    openers = frozenset((service, texts[a].removeprefix(SPAN_MARK)) for service, a, _ in learned if a < 0)
    now, meta = held_by_entries(tree_of(after), learn=False, openers=openers)

    def kind(c: int) -> str:
        return "op" if c < 0 else texts[c].split(" ", 1)[0]

    together = {
        (service, a, b): p
        for (service, a, b), p in learned.items()
        # An operation that stopped trying a call; a tried call that stopped getting through.
        if (kind(a), kind(b)) == ("op", TRY_MARK.strip())
        or ((kind(a), kind(b)) == (TRY_MARK.strip(), CALL_MARK.strip()) and texts[a][4:] == texts[b][5:])
    }
    out: list[BrokenPair] = []
    for pair in find_broken_pairs(together, now, meta, texts, max_trace_ids=max_trace_ids):
        if pair.first.startswith(TRY_MARK):
            callee = callee_of[(pair.service, pair.first.removeprefix(TRY_MARK))]
            pair = replace(pair, service=callee, first=f"{pair.service}: {pair.first}")
        out.append(pair)
    return tuple(sorted(out, key=lambda p: (p.service, p.first, p.missing)))
