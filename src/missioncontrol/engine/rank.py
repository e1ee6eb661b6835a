"""Turn per-service findings into scored (service × fault) hypotheses. Pure.

    findings ──► own strength per family ──► subtract what is inherited from callees
             ──► hypotheses (service × fault kind) ──► confidence (softmax over services)

Own versus inherited: latency, errors, traffic and log surges in a service whose callee shows at
least as strong an anomaly that began no later are mostly that callee's, so they are discounted.
Resource saturation (CPU, memory), self time and errors that start in a service are its own.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from missioncontrol.domain import FaultKind, ServiceGraph, ServiceId
from missioncontrol.engine.findings import ServiceFindings
from missioncontrol.engine.handlers import HandlerEnding
from missioncontrol.engine.logs import BrokenPair, TemplateShift
from missioncontrol.engine.metrics import SeriesScore
from missioncontrol.engine.signals import FAULT_OF, Family

# How much a family says about a fault *in this service* rather than somewhere else.
FAMILY_WEIGHT: dict[Family, float] = {
    Family.CPU: 1.0,
    Family.MEMORY: 1.0,
    Family.NETWORK: 0.9,
    Family.LATENCY: 0.7,
    Family.ERRORS: 0.8,
    Family.SUCCESS: 0.8,
    Family.CLIENT_LATENCY: 0.15,
    Family.TRAFFIC: 0.15,
    Family.IO: 0.3,
    Family.NODE: 0.15,
    Family.OTHER: 0.2,
}
INHERITABLE = frozenset(
    {Family.LATENCY, Family.ERRORS, Family.SUCCESS, Family.TRAFFIC, Family.CLIENT_LATENCY}
)


def metric_weight(z: float) -> float:
    """Map a held robust z-score to evidence weight: 0 up to 2.5, then logarithmic."""
    return math.log2(1.0 + max(z - 2.5, 0.0))


def effect_size(observed: float, baseline: float) -> float:
    """Return 0..1: how large the change is in proportion to the level, whatever its z-score.

    A very steady series makes a tiny move look like many sigmas; a 10 % move in CPU that sat at
    0.3 % is not saturation. Doubling (or halving) counts fully.
    """
    lo, hi = sorted((abs(observed), abs(baseline)))
    if not math.isfinite(lo) or not math.isfinite(hi):
        return 0.0
    if lo <= 1e-9:
        return 1.0 if hi > 1e-9 else 0.0
    return min(1.0, math.log2(hi / lo))


def pair_weight(p: BrokenPair) -> float:
    """Weigh a broken template pair by its surprise and by how often it now breaks.

    A code fault breaks the pair in most spans that reach it; a change of workload mix moves the
    fraction a little.
    """
    return math.log2(1.0 + p.strength) * (p.spans_missing / max(p.spans_with_first, 1))


CUT_SHORT_DISCOUNT = 0.8
HANDLER_WEIGHT = 2.0


def handler_weight(e: HandlerEnding) -> float:
    """Weigh a change in how handlers end by its surprise and by the share of requests it moved."""
    return HANDLER_WEIGHT * math.log2(1.0 + e.z) * (e.after - e.before)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One line of the score: which signal, its weight, and whether it was discounted as inherited."""

    label: str
    fault: FaultKind
    weight: float
    is_inheritable: bool
    inherited_from: ServiceId | None = None
    discount: float = 0.0
    reason: str = ""  # why it was discounted, in words
    onset: float | None = None  # when this signal began to break, where known (Unix seconds)


@dataclass(frozen=True, slots=True)
class Scored:
    service: ServiceId
    total: float
    onset: float | None
    contributions: tuple[Contribution, ...]

    def by_fault(self) -> dict[FaultKind, float]:
        out: dict[FaultKind, float] = {}
        for c in self.contributions:
            out[c.fault] = out.get(c.fault, 0.0) + c.weight
        return out


def template_weight(s: TemplateShift) -> float:
    """Weigh one template shift: new errors count most; a reshuffle of info lines is mostly noise."""
    if s.is_vanished:
        # Weighed like a broken pair, by how completely the line stopped: a code path that no
        # longer runs, the mark of an early return or an exception.
        return math.log2(1.0 + s.strength) * (1.0 - s.after_count / max(s.expected, 1.0))
    kind = 1.0 if s.is_error else 0.6 if s.is_warning else 0.25
    novelty = 1.0 if s.is_new else 0.5
    return math.log2(1.0 + s.strength) * kind * novelty


def ranked_shifts(f: ServiceFindings) -> list[TemplateShift]:
    """Return a service's template shifts, the weightiest first."""
    return sorted(f.log_shifts, key=lambda s: (-template_weight(s), s.template))


def log_weight(f: ServiceFindings) -> tuple[float, FaultKind, str]:
    """Return the log evidence weight of a service, the fault it points to, and the lead template."""
    if not f.log_shifts:
        return 0.0, FaultKind.UNKNOWN, ""
    ranked = ranked_shifts(f)
    weight = 0.0
    for i, s in enumerate(ranked[:3]):
        weight += template_weight(s) * (1.0 if i == 0 else 0.3)
    lead = ranked[0]
    fault = (
        FaultKind.ERRORS
        if any(s.is_error and not s.is_vanished for s in ranked[:3])
        else FaultKind.WRONG_OUTPUT
    )
    return weight, fault, lead.template


MIN_TRACES_READ = 3


def own_strength(f: ServiceFindings) -> tuple[list[Contribution], float | None]:
    """Return the contributions of a service's own signals (before inheritance) and its onset."""
    out: list[Contribution] = []
    onsets: list[float] = []
    for family in sorted(f.metrics):
        best = f.best(family)
        if best is None:
            continue
        w = metric_weight(best.strength) * FAMILY_WEIGHT[family] * effect_size(best.observed, best.baseline)
        if w <= 0.0:
            continue
        out.append(
            Contribution(
                label=f"metric:{best.metric}",
                fault=FAULT_OF[family],
                weight=w,
                is_inheritable=family in INHERITABLE,
                onset=best.onset,
            )
        )
        if best.onset is not None and family not in (Family.TRAFFIC, Family.NODE, Family.OTHER):
            onsets.append(best.onset)
    votes = f.log_origin_votes + f.log_inherited_votes
    # Trace-linked logs tell whether this service's new lines start here or echo a callee. Where
    # they do, that is the measured share, and the coarser graph-based discount does not apply.
    share = (f.log_origin_votes + 1.0) / (votes + 1.0) if votes else 1.0
    # Logs whose traces were read and showed no other service's lines changing in them (no votes
    # either way) echo nobody's logs: the call graph's coarser "a callee is anomalous too" must
    # not discount them. A few traces are too few to say.
    logs_inheritable = votes == 0 and f.log_traces_seen < MIN_TRACES_READ
    lw, lfault, template = log_weight(f)
    if lw > 0.0:
        out.append(
            Contribution(
                label=f"log:{template}", fault=lfault, weight=lw * share, is_inheritable=logs_inheritable
            )
        )
        first = [s.first_seen for s in f.log_shifts if math.isfinite(s.first_seen)]
        if first:
            onsets.append(min(first))
    if f.broken_pairs:
        pair = max(f.broken_pairs, key=lambda p: (pair_weight(p), p.first, p.missing))
        errors = any(s.is_error and s.is_new for s in f.log_shifts)
        cut_by = f.stops_after.blamed if f.stops_after is not None else None
        out.append(
            Contribution(
                label=f"logpair:{pair.first} → {pair.missing}",
                fault=FaultKind.ERRORS if errors else FaultKind.WRONG_OUTPUT,
                # Handlers that now stop right after one callee skip their later lines and calls
                # because of that callee's answers: the broken code path is mostly the callee's.
                weight=pair_weight(pair) * share * (1.0 - CUT_SHORT_DISCOUNT if cut_by else 1.0),
                is_inheritable=logs_inheritable and cut_by is None,
                inherited_from=cut_by,
                discount=CUT_SHORT_DISCOUNT if cut_by else 0.0,
                reason=f"its requests now stop right after calling {cut_by}" if cut_by else "",
            )
        )
        onsets.append(min(p.first_seen for p in f.broken_pairs))
    for ending in f.handler_endings:
        out.append(
            Contribution(
                label=f"trace:handlers:{ending.caller}",
                # Requests answered without doing their work: an early return or a swallowed error.
                fault=FaultKind.WRONG_OUTPUT if ending.is_own else FaultKind.ERRORS,
                weight=handler_weight(ending),
                # A callee that cuts its callers short may itself be cut short by its own callee.
                is_inheritable=not ending.is_own,
            )
        )
    if f.self_time is not None and f.self_time.ratio > 1.5:
        w = 1.5 * math.log2(f.self_time.ratio)
        out.append(
            Contribution(label="trace:self_time", fault=FaultKind.LATENCY, weight=w, is_inheritable=False)
        )
    if f.network is not None and f.network.ratio > 1.5:
        w = 1.5 * math.log2(f.network.ratio)
        out.append(
            Contribution(label="trace:network", fault=FaultKind.NETWORK, weight=w, is_inheritable=False)
        )
    if f.errors_originated > f.errors_originated_before:
        w = math.log2(1.0 + f.errors_originated - f.errors_originated_before)
        out.append(
            Contribution(label="trace:error_origin", fault=FaultKind.ERRORS, weight=w, is_inheritable=False)
        )
    return out, (min(onsets) if onsets else None)


# When a service shows several fault kinds, which one is the cause: saturation and a slow network
# explain latency and errors, not the other way round.
CAUSAL_PRIORITY: dict[FaultKind, float] = {
    FaultKind.CPU: 2.0,
    FaultKind.MEMORY: 2.0,
    FaultKind.NETWORK: 2.0,
}

_SATURATION = frozenset({FaultKind.CPU, FaultKind.MEMORY})
_SYMPTOMS = frozenset({FaultKind.LATENCY, FaultKind.ERRORS})

_PEER_TROUBLE = re.compile(r"timeout|timed out|connect|unreachable|reset|refused", re.I)


def leading_faults(s: "Scored") -> dict[FaultKind, float]:
    """Return the service's fault kinds with their relative likelihood as the cause, most likely first.

    Each kind is judged by its strongest line, not the sum: several latency views of one slowdown
    (percentiles, self time) are one observation, and they are the symptom of a saturation.
    """
    strongest: dict[FaultKind, float] = {}
    for c in s.contributions:
        strongest[c.fault] = max(strongest.get(c.fault, 0.0), c.weight)
    likelihood = {k: w * CAUSAL_PRIORITY.get(k, 1.0) for k, w in strongest.items()}
    # A saturation that broke no later than the slowdown or the errors explains them: however
    # much louder the symptom is, the saturation is the cause.
    symptom_onsets = [c.onset for c in s.contributions if c.fault in _SYMPTOMS and c.onset is not None]
    loudest_symptom = max((likelihood.get(k, 0.0) for k in _SYMPTOMS), default=0.0)
    for kind in _SATURATION & likelihood.keys():
        onsets = [
            c.onset for c in s.contributions if c.fault is kind and c.onset is not None and c.weight >= 1.0
        ]
        # Symptoms with no onset of their own cannot be shown to come first.
        if onsets and (not symptom_onsets or min(onsets) <= min(symptom_onsets)):
            likelihood[kind] = max(likelihood[kind], loudest_symptom * 1.01)
    return {k: likelihood[k] for k in sorted(likelihood, key=lambda k: (-likelihood[k], k.value))}


def named_peer(template: str, candidates: frozenset[ServiceId]) -> ServiceId | None:
    """Return the longest service name that the template names as a whole word, if any.

    "upstream call to quotes-db failed" names quotes-db: the line is written by the caller, but it
    is evidence about the callee.
    """
    best: ServiceId | None = None
    for name in candidates:
        if len(name) < 3 or (best is not None and len(name) <= len(best)):
            continue
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", template):
            best = name
    return best


def score_services(
    findings: Mapping[ServiceId, ServiceFindings],
    graph: ServiceGraph | None,
    *,
    max_hops: int,
    step_s: float,
) -> list[Scored]:
    """Score every service with findings, discounting what its callees explain."""
    own: dict[ServiceId, tuple[list[Contribution], float | None]] = {
        s: own_strength(f) for s, f in sorted(findings.items())
    }
    _credit_named_peers(own, findings, graph)
    _credit_silencing_callers(own, findings, graph)
    raw_total = {s: sum(c.weight for c in cs) for s, (cs, _) in own.items()}
    scored: list[Scored] = []
    for service, (contribs, onset) in own.items():
        culprit: ServiceId | None = None
        share = 0.0
        if graph is not None:
            for callee, _hops in sorted(graph.downstream(service, max_hops=max_hops).items()):
                if callee == service or callee not in own:
                    continue
                callee_onset = own[callee][1]
                if onset is not None and callee_onset is not None and callee_onset > onset + step_s:
                    continue  # the callee went wrong after us: it cannot be our cause
                ratio = min(raw_total[callee] / raw_total[service], 1.0) if raw_total[service] > 0 else 0.0
                if ratio > share:
                    share, culprit = ratio, callee
        adjusted: list[Contribution] = []
        for c in contribs:
            if c.is_inheritable and culprit is not None and share > 0.0:
                discount = 0.8 * share
                adjusted.append(
                    Contribution(
                        label=c.label,
                        fault=c.fault,
                        weight=c.weight * (1.0 - discount),
                        is_inheritable=True,
                        inherited_from=culprit,
                        discount=discount,
                        reason=f"{culprit} below it is as anomalous and went wrong no later",
                    )
                )
            else:
                adjusted.append(c)
        scored.append(
            Scored(service=service, total=_combine(adjusted), onset=onset, contributions=tuple(adjusted))
        )
    scored.sort(key=lambda s: (-s.total, s.service))
    return scored


def _credit_named_peers(
    own: dict[ServiceId, tuple[list[Contribution], float | None]],
    findings: Mapping[ServiceId, ServiceFindings],
    graph: ServiceGraph | None,
) -> None:
    """Move log evidence that names a callee from the writer to that callee, in place."""
    for service in sorted(own):
        f = findings[service]
        if not f.log_shifts:
            continue
        peers = (
            frozenset(graph.downstream(service, max_hops=8)) - {service}
            if graph
            else frozenset(own) - {service}
        )
        lead = ranked_shifts(f)[0]
        peer = named_peer(lead.template, peers)
        if peer is None:
            continue
        contribs, onset = own[service]
        for i, c in enumerate(contribs):
            if not c.label.startswith("log:"):
                continue
            contribs[i] = Contribution(
                label=c.label,
                fault=c.fault,
                weight=c.weight * 0.2,
                is_inheritable=False,
                inherited_from=peer,
                discount=0.8,
                reason=f"the line names {peer}",
            )
            fault = FaultKind.NETWORK if _PEER_TROUBLE.search(lead.template) else FaultKind.ERRORS
            peer_contribs, peer_onset = own.setdefault(peer, ([], None))
            peer_contribs.append(
                Contribution(
                    label=f"named:{service}: {lead.template}",
                    fault=fault,
                    weight=c.weight * 0.5,
                    # The named service may itself be failing because of one of its own callees.
                    is_inheritable=True,
                )
            )
            if peer_onset is None:
                own[peer] = (peer_contribs, onset)


# A series at a tenth of its level or less has stopped: the service's work, not its pace, changed.
QUIET_SHARE = 0.1
QUIET_FAMILIES = (Family.IO, Family.TRAFFIC)
# How much of a quiet callee's evidence moves to the caller that stopped calling it.
SILENCED_SHARE = 0.8


def quiet_series(f: ServiceFindings) -> list[SeriesScore]:
    """Return the service's I/O and traffic series that stopped: now at a tenth of their level or less."""
    return [
        s
        for family in QUIET_FAMILIES
        for s in f.metrics.get(family, ())
        if s.baseline > 0.0 and (s.observed if s.latest is None else s.latest) <= QUIET_SHARE * s.baseline
    ]


def _credit_silencing_callers(
    own: dict[ServiceId, tuple[list[Contribution], float | None]],
    findings: Mapping[ServiceId, ServiceFindings],
    graph: ServiceGraph | None,
) -> None:
    """Move "its work stopped" from callees to the one caller that stopped calling them, in place.

    A service whose I/O or traffic stops is down or no longer called. When two or more services
    that one caller alone calls stop together, that caller stopped calling them: its handlers now
    end before those calls (an exception, an early return) — the metrics' view of a broken call,
    for estates or minutes without traces. Two unrelated services going down at once is the
    unlikely reading; one alone could be either, so it moves nothing.
    """
    if graph is None:
        return
    # caller → {callee: its stopped series, by contribution label}
    silenced: dict[ServiceId, dict[ServiceId, dict[str, SeriesScore]]] = {}
    for service in sorted(findings):
        callers = [c for c in graph.callers(service) if c != service]
        quiet = {f"metric:{s.metric}": s for s in quiet_series(findings[service])}
        if len(callers) == 1 and quiet:
            silenced.setdefault(callers[0], {})[service] = quiet
    for caller, stopped_callees in sorted(silenced.items()):
        if len(stopped_callees) < 2:
            continue
        callees = list(stopped_callees)
        moved = 0.0
        first: list[float] = []
        stopped: list[str] = []  # each callee's strongest stopped series, as `service/series`
        for callee, quiet in stopped_callees.items():
            contribs, _ = own[callee]
            strongest = max(quiet.values(), key=lambda s: (s.strength, s.metric))
            stopped.append(f"{callee}/{strongest.metric}")
            for i, c in enumerate(contribs):
                if c.label not in quiet or c.inherited_from is not None:
                    continue
                contribs[i] = replace(
                    c,
                    weight=c.weight * (1.0 - SILENCED_SHARE),
                    is_inheritable=False,
                    inherited_from=caller,
                    discount=SILENCED_SHARE,
                    reason=f"{caller}, its only caller, stopped calling it and "
                    + ", ".join(x for x in callees if x != callee)
                    + " at once",
                )
                moved += c.weight * SILENCED_SHARE
                began = quiet[c.label].onset
                if began is not None:
                    first.append(began)
        if moved <= 0.0:
            continue
        began_first = min(first) if first else None
        contribs, onset = own.setdefault(caller, ([], None))
        contribs.append(
            Contribution(
                label=f"silenced:{', '.join(stopped)}",
                fault=FaultKind.ERRORS,
                weight=moved,
                # Its own code path, as a handler that now ends early is (`trace:handlers`): a slower
                # callee does not stop its caller calling the others.
                is_inheritable=False,
                onset=began_first,
            )
        )
        if onset is None and began_first is not None:
            own[caller] = (contribs, began_first)


def _combine(contribs: list[Contribution]) -> float:
    # The strongest line counts fully, the rest at a third: twenty correlated latency series
    # are not twenty times the evidence.
    weights = sorted((c.weight for c in contribs), reverse=True)
    if not weights:
        return 0.0
    return weights[0] + sum(weights[1:]) / 3.0


def confidences(totals: list[float], *, temperature: float, midpoint: float, width: float) -> list[float]:
    """Return a probability per service: a softmax over scores, times the odds the leader is real.

    The softmax says how clearly the leader stands out; the logistic factor on the leader's own
    score says whether anything happened at all, so that a faint leader among faint rivals (a
    false alarm) is "no confident cause", not a confident guess. The three parameters were fitted
    on the simulator's suite only, never on the benchmark datasets (see docs/benchmarks.md).
    """
    if not totals:
        return []
    top = max(totals)
    if top <= 0.0:
        return [0.0 for _ in totals]
    exps = [math.exp((t - top) / temperature) for t in totals]
    norm = sum(exps)
    real = 1.0 / (1.0 + math.exp(-(top - midpoint) / width))
    return [e / norm * real for e in exps]
