"""Learning from resolved incidents: bounded priors, kept hypotheses, honest evidence, alert odds."""

from datetime import UTC, datetime, timedelta

import pytest

from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Diagnosis,
    Evidence,
    EvidenceKind,
    FaultKind,
    Hypothesis,
    ServiceId,
    Severity,
    Stance,
)
from missioncontrol.domain.knowledge import (
    AlertOutcome,
    Feedback,
    FeedbackVerdict,
    Fingerprint,
    Knowledge,
    PastIncident,
    Resolution,
)
from missioncontrol.engine.learn import (
    LearnConfig,
    apply_knowledge,
    cause_priors,
    service_knowledge,
)
from missioncontrol.engine.recall import Match, fingerprint_of, recall

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WINDOW = (T0, T0 + timedelta(minutes=10))


def evidence(service: str, query: str, kind: EvidenceKind = EvidenceKind.METRIC_ANOMALY) -> Evidence:
    return Evidence(
        kind=kind,
        service=ServiceId(service),
        summary=f"{query} moved",
        source="metrics",
        query=f"{service}/{query}",
        window=WINDOW,
        stance=Stance.SUPPORTS,
        weight=1.0,
    )


def hypothesis(service: str, confidence: float, fault: FaultKind = FaultKind.CPU) -> Hypothesis:
    return Hypothesis(
        service=ServiceId(service),
        fault=fault,
        cause=f"{fault} in {service}",
        score=confidence * 10,
        confidence=confidence,
        path=(ServiceId("frontend"), ServiceId(service)),
        evidence=(evidence(service, "CpuUsageRate"),),
    )


def diagnosis(*hypotheses: Hypothesis, case_id: str = "new") -> Diagnosis:
    return Diagnosis(
        case_id=case_id,
        method="missioncontrol",
        symptom=ServiceId("frontend"),
        onset_at=T0,
        window=WINDOW,
        hypotheses=hypotheses,
    )


def alert(name: str = "FrontendLatencyHigh") -> Alert:
    return Alert(
        fingerprint="f1",
        name=name,
        severity=Severity.CRITICAL,
        status=AlertStatus.FIRING,
        service=ServiceId("frontend"),
        signal="latency_p90",
        started_at=T0,
        received_at=T0,
    )


def resolved(incident_id: str, d: Diagnosis, cause: str, fault: FaultKind = FaultKind.CPU) -> PastIncident:
    fp = fingerprint_of(d, incident_id=incident_id, seen_at=T0, alerts=(alert(),))
    return PastIncident(
        fingerprint=fp,
        resolution=Resolution(
            incident_id=incident_id,
            cause_service=ServiceId(cause),
            cause_fault=fault,
            fix=f"restarted {cause}",
            resolved_at=T0 + timedelta(hours=1),
            resolved_by="ops",
        ),
    )


def matches_for(d: Diagnosis, knowledge: Knowledge) -> list[Match]:
    return recall(fingerprint_of(d, incident_id=d.case_id, seen_at=T0, alerts=(alert(),)), knowledge.past)


def test_precedent_tips_a_close_call_and_keeps_every_hypothesis() -> None:
    new = diagnosis(hypothesis("cart", 0.45), hypothesis("payment", 0.40), hypothesis("email", 0.05))
    past = tuple(resolved(f"inc-{i}", new, "payment") for i in range(3))
    knowledge = Knowledge(past=past)
    learnt = apply_knowledge(new, knowledge, matches_for(new, knowledge))
    assert learnt.ranked_services == ("payment", "cart", "email")
    assert {h.service for h in learnt.hypotheses} == {h.service for h in new.hypotheses}
    prior = [e for e in learnt.hypotheses[0].evidence if e.kind is EvidenceKind.PRIOR]
    assert len(prior) == 1 and prior[0].stance is Stance.SUPPORTS
    assert "3 resolved incident(s)" in prior[0].summary and "inc-0" in prior[0].summary
    assert sum(h.confidence for h in learnt.hypotheses) == pytest.approx(0.90)


def test_precedent_cannot_overturn_strong_evidence() -> None:
    new = diagnosis(hypothesis("cart", 0.95), hypothesis("payment", 0.01))
    past = tuple(resolved(f"inc-{i}", new, "payment") for i in range(50))
    knowledge = Knowledge(past=past)
    learnt = apply_knowledge(new, knowledge, matches_for(new, knowledge))
    assert learnt.ranked_services[0] == "cart"


def test_a_never_seen_cause_is_lowered_at_most_by_the_cap() -> None:
    new = diagnosis(hypothesis("cart", 0.5), hypothesis("payment", 0.3))
    past = tuple(resolved(f"inc-{i}", new, "payment") for i in range(40))
    config = LearnConfig()
    priors = cause_priors(new.ranked_services, matches_for(new, Knowledge(past=past)), config=config)
    assert priors[ServiceId("cart")].ratio == pytest.approx(1 / config.max_drop)
    # Relative to the mean over two suspects, payment's ratio is (1 + 40) / (1 + 20), under the cap.
    assert priors[ServiceId("payment")].ratio == pytest.approx(41 / 21)
    assert priors[ServiceId("cart")].raw_ratio < priors[ServiceId("cart")].ratio


def test_with_little_precedent_the_prior_stays_near_flat() -> None:
    new = diagnosis(hypothesis("cart", 0.5), hypothesis("payment", 0.3))
    knowledge = Knowledge(past=(resolved("inc-1", new, "payment"),))
    priors = cause_priors(new.ranked_services, matches_for(new, knowledge))
    # One similar incident: (1 + s) / (1 + s/2) for payment, 1 / (1 + s/2) for cart, s ≤ 1.
    assert 1.0 < priors[ServiceId("payment")].ratio <= 4 / 3 + 1e-9
    assert 2 / 3 - 1e-9 <= priors[ServiceId("cart")].ratio < 1.0


def test_nothing_changes_without_knowledge() -> None:
    new = diagnosis(hypothesis("cart", 0.45), hypothesis("payment", 0.40))
    assert apply_knowledge(new, Knowledge(), []) is new


def test_applying_twice_changes_nothing_more() -> None:
    new = diagnosis(hypothesis("cart", 0.45), hypothesis("payment", 0.40))
    knowledge = Knowledge(past=(resolved("inc-1", new, "payment"),))
    once = apply_knowledge(new, knowledge, matches_for(new, knowledge))
    assert apply_knowledge(once, knowledge, matches_for(new, knowledge)) is once


def test_rejections_lower_a_service_even_without_a_resolution() -> None:
    new = diagnosis(hypothesis("cart", 0.45), hypothesis("payment", 0.40))
    fp = fingerprint_of(new, incident_id="inc-1", seen_at=T0, alerts=(alert(),))
    rejected = Feedback(
        incident_id="inc-1",
        service=ServiceId("cart"),
        fault=FaultKind.CPU,
        verdict=FeedbackVerdict.REJECT,
        given_at=T0,
        given_by="ops",
    )
    past = PastIncident(fingerprint=fp, feedback=(rejected,) * 1)
    knowledge = Knowledge(past=(past, *(PastIncident(fingerprint=fp, feedback=(rejected,)),) * 3))
    priors = cause_priors(new.ranked_services, matches_for(new, knowledge))
    assert priors[ServiceId("cart")].ratio < 1.0 < priors[ServiceId("payment")].ratio


def test_a_confirmed_hypothesis_counts_as_the_cause() -> None:
    fp = Fingerprint("inc-1", "t", None, (), ("symptom:x",), "", T0)
    confirm = Feedback("inc-1", ServiceId("db"), FaultKind.MEMORY, FeedbackVerdict.CONFIRM, T0, "ops")
    assert PastIncident(fingerprint=fp, feedback=(confirm,)).cause == ("db", FaultKind.MEMORY)


def test_fault_kind_history_reorders_hypotheses_within_a_service() -> None:
    new = diagnosis(hypothesis("cart", 0.3, FaultKind.LATENCY), hypothesis("cart", 0.25, FaultKind.MEMORY))
    past = tuple(resolved(f"inc-{i}", new, "cart", FaultKind.MEMORY) for i in range(4))
    knowledge = Knowledge(past=past)
    learnt = apply_knowledge(new, knowledge, matches_for(new, knowledge))
    assert [h.fault for h in learnt.hypotheses] == [FaultKind.MEMORY, FaultKind.LATENCY]
    assert "memory 4 of 4" in learnt.hypotheses[0].evidence[-1].summary


def test_a_reliable_alert_raises_the_odds_that_something_is_wrong() -> None:
    new = diagnosis(hypothesis("cart", 0.3), hypothesis("payment", 0.2))
    knowledge = Knowledge(alerts=(AlertOutcome("FrontendLatencyHigh", incidents=20, actionable=20),))
    learnt = apply_knowledge(new, knowledge, [], alerts=("FrontendLatencyHigh",))
    mass = sum(h.confidence for h in learnt.hypotheses)
    odds = 3.0  # capped
    assert mass == pytest.approx(0.5 * odds / (0.5 * odds + 0.5))
    assert learnt.ranked_services == new.ranked_services
    noisy = Knowledge(alerts=(AlertOutcome("FrontendLatencyHigh", incidents=20, actionable=1),))
    quieter = apply_knowledge(new, noisy, [], alerts=("FrontendLatencyHigh",))
    assert sum(h.confidence for h in quieter.hypotheses) < 0.5


def test_service_knowledge_names_recurring_causes_and_their_fixes() -> None:
    d = diagnosis(hypothesis("cart", 0.6))
    past = (
        resolved("inc-1", d, "cart", FaultKind.MEMORY),
        resolved("inc-2", d, "cart", FaultKind.MEMORY),
        resolved("inc-3", d, "cart", FaultKind.CPU),
        resolved("inc-4", d, "payment", FaultKind.CPU),
    )
    known = service_knowledge(Knowledge(past=past), ServiceId("cart"))
    assert (known.incidents, known.caused) == (4, 3)
    assert known.faults[0].fault is FaultKind.MEMORY and known.faults[0].count == 2
    assert known.cause_rate == pytest.approx(4 / 6)
    (fragility,) = known.fragilities
    assert fragility.fault is FaultKind.MEMORY and fragility.count == 2
    assert fragility.fixes == ("restarted cart",)
