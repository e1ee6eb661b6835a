"""Learn from resolved incidents: priors over causes, alert signal-to-noise, and re-ranking with them.

The engine's confidence in a service is a calibrated probability under a flat prior over the
suspects. Bayes' rule turns it into a posterior under a learnt prior by multiplying it by the prior's
ratio to that flat prior and renormalising. The learnt prior is a Dirichlet posterior mean over the
suspects: every past incident whose confirmed cause is a suspect adds its similarity to this incident
(0..1, from `recall`) to that service's count, and every suspect starts with `alpha` pseudo-counts::

    ratio(s) = (alpha + votes(s)) / (alpha + mean votes over the suspects)

so a service with no precedent keeps a ratio near 1 while little is known, and the ratio is capped at
`max_lift` up and `max_drop` down, so that precedent can tip a close call but never overturn strong
evidence (a leader the engine holds more than `max_lift × max_drop` times likelier keeps its place).
Every hypothesis is kept; each service whose probability moved gets an `EvidenceKind.PRIOR` item
saying what was learnt and from how many incidents.

Within a service, fault kinds are re-weighted the same way by the service's own Dirichlet-smoothed
counts of confirmed fault kinds. An alert's signal-to-noise (the share of its incidents that needed
action) moves the odds that anything real happened at all, capped the same way. Pure: domain, ports
and numpy only.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from missioncontrol.domain import (
    Alert,
    Brief,
    Diagnosis,
    Evidence,
    EvidenceKind,
    FaultKind,
    Hypothesis,
    ServiceId,
    Stance,
)
from missioncontrol.domain.knowledge import (
    AlertOutcome,
    FaultPrior,
    Fragility,
    Knowledge,
    ServiceKnowledge,
    SimilarIncident,
)
from missioncontrol.engine.recall import Match, RecallConfig, fingerprint_of, recall, to_similar_incidents
from missioncontrol.ports import Embedder, KnowledgeBank

SOURCE = "knowledge"
FAULT_KINDS = len(FaultKind)


@dataclass(frozen=True, slots=True)
class LearnConfig:
    """Tuning for learning from precedent. Principled defaults; nothing here was fitted on benchmarks."""

    alpha: float = 1.0  # Dirichlet pseudo-counts per suspect: one imaginary incident each
    max_lift: float = 3.0  # precedent multiplies a service's probability by at most this …
    max_drop: float = 3.0  # … and divides it by at most this
    fault_alpha: float = 1.0  # pseudo-counts per fault kind within a service
    alert_odds_cap: float = 3.0  # an alert's history moves the odds "something is wrong" at most this much
    similar_limit: int = 3  # similar incidents shown in the brief
    recall: RecallConfig = field(default_factory=RecallConfig)


@dataclass(frozen=True, slots=True)
class CausePrior:
    """What precedent says about one suspect being the cause."""

    service: ServiceId
    ratio: float  # applied multiplier, after the caps
    raw_ratio: float  # before the caps
    votes: float  # similarity-weighted confirmed causes
    incidents: tuple[str, ...]  # similar past incidents it caused, most similar first


@dataclass(frozen=True, slots=True)
class Learnt:
    """A diagnosis re-ranked with what the knowledge bank knows, and the precedent behind it."""

    diagnosis: Diagnosis
    similar: tuple[SimilarIncident, ...]
    priors: Mapping[ServiceId, CausePrior]
    resolved: int  # resolved incidents the bank held


def cause_priors(
    suspects: Sequence[ServiceId], matches: Sequence[Match], *, config: LearnConfig | None = None
) -> dict[ServiceId, CausePrior]:
    """Return each suspect's prior ratio against the flat prior, from similar resolved incidents."""
    cfg = config or LearnConfig()
    if not suspects:
        return {}
    votes: dict[ServiceId, float] = dict.fromkeys(suspects, 0.0)
    caused: dict[ServiceId, list[str]] = defaultdict(list)
    for m in matches:
        cause = m.past.cause
        if cause is not None:
            if cause[0] in votes:
                votes[cause[0]] += m.similarity
                caused[cause[0]].append(m.past.fingerprint.incident_id)
            continue
        # No confirmed cause, but services ruled out: the cause was one of the other suspects.
        ruled_out = [s for s in m.past.rejected if s in votes]
        others = [s for s in suspects if s not in ruled_out]
        for s in others if ruled_out else ():
            votes[s] += m.similarity / len(others)
    mean = sum(votes.values()) / len(votes)
    out: dict[ServiceId, CausePrior] = {}
    for s in suspects:
        raw = (cfg.alpha + votes[s]) / (cfg.alpha + mean)
        ratio = min(cfg.max_lift, max(1.0 / cfg.max_drop, raw))
        out[s] = CausePrior(s, ratio, raw, votes[s], tuple(caused[s]))
    return out


def fault_counts(knowledge: Knowledge) -> dict[ServiceId, Counter[FaultKind]]:
    """Return, per service, how often each fault kind was its confirmed cause."""
    counts: dict[ServiceId, Counter[FaultKind]] = defaultdict(Counter)
    for p in knowledge.past:
        cause = p.cause
        if cause is not None:
            counts[cause[0]][cause[1]] += 1
    return counts


def _fault_ratio(counts: Counter[FaultKind], fault: FaultKind, alpha: float) -> float:
    total = sum(counts.values())
    return (alpha + counts[fault]) / (alpha + total / FAULT_KINDS)


def _alert_odds(alerts: Sequence[str], outcomes: Mapping[str, AlertOutcome], cap: float) -> float | None:
    known = [outcomes[a] for a in alerts if a in outcomes and outcomes[a].incidents > 0]
    if not known:
        return None
    snr = sum(o.signal_to_noise for o in known) / len(known)
    return min(cap, max(1.0 / cap, snr / (1.0 - snr)))


def _prior_evidence(
    diagnosis: Diagnosis, prior: CausePrior, resolved: int, fault_note: str, cfg: LearnConfig
) -> Evidence:
    n = len(prior.incidents)
    if n:
        shown = ", ".join(prior.incidents[:3]) + (" …" if n > 3 else "")
        what = f"{prior.service} was the confirmed cause of {n} similar past incident(s) ({shown})"
    else:
        what = f"{prior.service} was never the confirmed cause of a similar past incident"
    capped = " (capped)" if prior.ratio != prior.raw_ratio else ""
    return Evidence(
        kind=EvidenceKind.PRIOR,
        service=prior.service,
        summary=(
            f"Learnt from {resolved} resolved incident(s): {what}; probability ×{prior.ratio:.2f}{capped}"
            f"{fault_note}."
        ),
        source=SOURCE,
        query=(
            f"similar resolved incidents, similarity-weighted causes: {prior.votes:.2f} for {prior.service}; "
            f"prior ratio (alpha + votes) / (alpha + mean votes), alpha={cfg.alpha}, "
            f"bounds ×1/{cfg.max_drop:g}..×{cfg.max_lift:g}"
        ),
        window=diagnosis.window,
        stance=Stance.SUPPORTS if prior.ratio >= 1.0 else Stance.WEAKENS,
        value=prior.ratio,
        baseline=1.0,
        weight=math.log(prior.ratio),
    )


def apply_knowledge(
    diagnosis: Diagnosis,
    knowledge: Knowledge,
    matches: Sequence[Match],
    *,
    alerts: Sequence[str] = (),
    config: LearnConfig | None = None,
) -> Diagnosis:
    """Return the diagnosis re-ranked with learnt priors; every hypothesis kept, each move explained.

    `matches` are the past incidents similar to this one (`recall`). Nothing changes when the bank
    holds no resolved incident and no alert history, or when the diagnosis already carries priors.
    """
    cfg = config or LearnConfig()
    hypotheses = diagnosis.hypotheses
    resolved = len(knowledge.resolved)
    already = any(e.kind is EvidenceKind.PRIOR for h in hypotheses for e in h.evidence)
    if not hypotheses or already:
        return diagnosis
    odds = _alert_odds(alerts, {o.alert: o for o in knowledge.alerts}, cfg.alert_odds_cap)
    if resolved == 0 and odds is None:
        return diagnosis
    suspects = diagnosis.ranked_services
    priors = cause_priors(suspects, matches, config=cfg)
    faults = fault_counts(knowledge)
    p = {s: diagnosis.confidence_in(s) for s in suspects}
    mass = sum(p.values())
    weighted = {s: p[s] * priors[s].ratio for s in suspects}
    norm = sum(weighted.values())
    posterior = {s: (weighted[s] / norm * mass if norm > 0 else p[s]) for s in suspects}
    notes = [
        f"Knowledge bank: {resolved} resolved incident(s), {sum(1 for m in matches if m.past.cause)} "
        f"similar to this one; priors applied within ×1/{cfg.max_drop:g}..×{cfg.max_lift:g}."
    ]
    if odds is not None and 0.0 < mass < 1.0:
        new_mass = mass * odds / (mass * odds + 1.0 - mass)
        posterior = {s: v * new_mass / mass for s, v in posterior.items()}
        notes.append(
            f"Alert history: {', '.join(alerts)} led to an actionable incident with smoothed odds "
            f"{odds:.2f}; the chance that anything is wrong moved from {mass:.2f} to {new_mass:.2f}."
        )
    new_hypotheses: list[Hypothesis] = []
    for s in suspects:
        own = [h for h in hypotheses if h.service == s]
        fault_w = [h.confidence * _fault_ratio(faults[s], h.fault, cfg.fault_alpha) for h in own]
        total = sum(fault_w)
        prior = priors[s]
        fault_note = ""
        if faults[s] and len(own) > 1:
            top_fault, top_n = faults[s].most_common(1)[0]
            fault_note = f"; its confirmed causes were {top_fault} {top_n} of {sum(faults[s].values())} times"
        extra: tuple[Evidence, ...] = ()
        if abs(math.log(prior.ratio)) > 1e-3 or fault_note:
            extra = (_prior_evidence(diagnosis, prior, resolved, fault_note, cfg),)
        for h, w in zip(own, fault_w, strict=True):
            confidence = w / total * posterior[s] if total > 0 else h.confidence
            new_hypotheses.append(replace(h, confidence=confidence, evidence=h.evidence + extra))
    order = {s: i for i, s in enumerate(suspects)}
    new_hypotheses.sort(key=lambda h: (-posterior[h.service], order[h.service], -h.confidence))
    return replace(diagnosis, hypotheses=tuple(new_hypotheses), notes=diagnosis.notes + tuple(notes))


def learn(
    diagnosis: Diagnosis,
    knowledge: Knowledge,
    fingerprint_matches: Sequence[Match],
    *,
    alerts: Sequence[str] = (),
    config: LearnConfig | None = None,
) -> Learnt:
    """Return the re-ranked diagnosis, the similar incidents for the brief and the priors used."""
    cfg = config or LearnConfig()
    diagnosed = apply_knowledge(diagnosis, knowledge, fingerprint_matches, alerts=alerts, config=cfg)
    priors = cause_priors(diagnosis.ranked_services, fingerprint_matches, config=cfg)
    return Learnt(
        diagnosis=diagnosed,
        similar=to_similar_incidents(fingerprint_matches, limit=cfg.similar_limit),
        priors=priors,
        resolved=len(knowledge.resolved),
    )


def service_knowledge(
    knowledge: Knowledge, service: ServiceId, *, fault_alpha: float = 1.0
) -> ServiceKnowledge:
    """Return what was learnt about `service`: how often it was the cause, of what, and how fixed."""
    suspect_token = f"suspect:{service}"
    involved = [
        p
        for p in knowledge.resolved
        if suspect_token in p.fingerprint.tokens or (p.cause is not None and p.cause[0] == service)
    ]
    caused = [p for p in involved if p.cause is not None and p.cause[0] == service]
    rejected = sum(1 for p in knowledge.past if service in p.rejected)
    counts: Counter[FaultKind] = Counter(p.cause[1] for p in caused if p.cause is not None)
    total = sum(counts.values())
    faults = tuple(
        FaultPrior(fault=f, probability=(fault_alpha + n) / (fault_alpha * FAULT_KINDS + total), count=n)
        for f, n in counts.most_common()
    )
    fragilities: list[Fragility] = []
    for f, n in counts.most_common():
        if n < 2:
            continue
        these = sorted(
            (p for p in caused if p.cause is not None and p.cause[1] == f),
            key=lambda p: p.resolution.resolved_at if p.resolution else p.fingerprint.seen_at,
            reverse=True,
        )
        fixes = tuple(dict.fromkeys(p.resolution.fix for p in these if p.resolution and p.resolution.fix))
        last = these[0].resolution.resolved_at if these[0].resolution else these[0].fingerprint.seen_at
        fragilities.append(Fragility(service=service, fault=f, count=n, last_at=last, fixes=fixes))
    return ServiceKnowledge(
        service=service,
        incidents=len(involved),
        caused=len(caused),
        rejected=rejected,
        cause_rate=(len(caused) + 1) / (len(involved) + 2),
        faults=faults,
        fragilities=tuple(fragilities),
    )


def alert_outcomes(knowledge: Knowledge) -> tuple[AlertOutcome, ...]:
    """Return every alert's outcome counts, noisiest first."""
    return tuple(sorted(knowledge.alerts, key=lambda o: (o.signal_to_noise, o.alert)))


class KnowledgeEnricher:
    """The knowledge bank's step of the brief (a `ports.BriefEnricher`): precedent and priors.

    It fingerprints the incident (and remembers it, so that resolving it later teaches the bank),
    recalls similar past incidents, fills `brief.similar` and re-ranks the diagnosis with learnt priors.
    `alerts_of` returns an incident's alerts (from the incident store); `embedder` is optional.
    """

    name = "knowledge"

    def __init__(
        self,
        bank: KnowledgeBank,
        *,
        alerts_of: Callable[[str], Sequence[Alert]] | None = None,
        embedder: Embedder | None = None,
        config: LearnConfig | None = None,
    ) -> None:
        self.bank = bank
        self.alerts_of = alerts_of
        self.embedder = embedder
        self.config = config or LearnConfig()

    def enrich(self, brief: Brief) -> Brief:
        """Return the brief with similar incidents filled in and the diagnosis re-ranked by precedent."""
        alerts = tuple(self.alerts_of(brief.incident_id)) if self.alerts_of is not None else ()
        fingerprint = fingerprint_of(
            brief.diagnosis,
            incident_id=brief.incident_id,
            seen_at=brief.generated_at,
            alerts=alerts,
            config=self.config.recall,
        )
        if self.embedder is not None:
            (vector,) = self.embedder.embed([fingerprint.text])
            fingerprint = replace(fingerprint, embedding=vector)
        knowledge = self.bank.knowledge()
        self.bank.remember(fingerprint)
        matches = recall(fingerprint, knowledge.past, config=self.config.recall)
        learnt = learn(brief.diagnosis, knowledge, matches, alerts=fingerprint.alerts, config=self.config)
        return replace(brief, diagnosis=learnt.diagnosis, similar=learnt.similar)


def remember_brief(bank: KnowledgeBank, brief: Brief, alerts: Sequence[Alert] = ()) -> None:
    """Fingerprint an incident from its stored brief, so it can be resolved (briefs built before the bank)."""
    bank.remember(
        fingerprint_of(
            brief.diagnosis, incident_id=brief.incident_id, seen_at=brief.generated_at, alerts=alerts
        )
    )


def similar_to(
    knowledge: Knowledge, incident_id: str, *, limit: int = 3, config: RecallConfig | None = None
) -> tuple[SimilarIncident, ...] | None:
    """Return the resolved incidents most like `incident_id`, or None if it was never fingerprinted."""
    own = next((p for p in knowledge.past if p.fingerprint.incident_id == incident_id), None)
    if own is None:
        return None
    return to_similar_incidents(recall(own.fingerprint, knowledge.past, config=config), limit=limit)
