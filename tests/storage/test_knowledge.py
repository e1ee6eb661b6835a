"""The knowledge bank on SQLite and PostgreSQL: fingerprints, resolutions, feedback, alert outcomes."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Brief,
    Diagnosis,
    Evidence,
    EvidenceKind,
    FaultKind,
    Hypothesis,
    IncidentId,
    ServiceId,
    Severity,
    Stance,
)
from missioncontrol.domain.knowledge import (
    AlertOutcome,
    Feedback,
    FeedbackVerdict,
    Fingerprint,
    NotInKnowledgeBank,
    Resolution,
)
from missioncontrol.engine.learn import KnowledgeEnricher
from missioncontrol.storage.knowledge import SqlKnowledgeBank

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WINDOW = (T0, T0 + timedelta(minutes=10))


def fingerprint(incident_id: str, *, alerts: tuple[str, ...] = ("LatencyHigh",)) -> Fingerprint:
    return Fingerprint(
        incident_id=incident_id,
        title=f"LatencyHigh on frontend ({incident_id})",
        symptom=ServiceId("frontend"),
        alerts=alerts,
        tokens=("alert:LatencyHigh", "symptom:frontend", "suspect:cart", "suspect:cart"),
        text="Alert LatencyHigh on frontend.",
        seen_at=T0,
        embedding=(0.6, 0.8),
    )


def resolution(incident_id: str, *, is_actionable: bool = True, by: str = "ops") -> Resolution:
    return Resolution(
        incident_id=incident_id,
        cause_service=ServiceId("cart") if is_actionable else None,
        cause_fault=FaultKind.MEMORY if is_actionable else None,
        fix="restarted cart" if is_actionable else "",
        resolved_at=T0 + timedelta(hours=1),
        resolved_by=by,
        notes="leak in the session cache",
        is_actionable=is_actionable,
    )


def test_a_fingerprint_resolution_and_feedback_come_back_as_stored(db_engine: Engine) -> None:
    bank = SqlKnowledgeBank(db_engine)
    bank.remember(fingerprint("inc-1"))
    bank.record_resolution(resolution("inc-1"))
    bank.record_feedback(
        Feedback(
            incident_id="inc-1",
            service=ServiceId("db"),
            fault=FaultKind.LATENCY,
            verdict=FeedbackVerdict.REJECT,
            given_at=datetime(2026, 12, 1, 11, 0, tzinfo=timezone(timedelta(hours=2))),
            given_by="ops",
            rank=2,
            note="db was fine",
        )
    )
    past = bank.past_incident("inc-1")
    assert past is not None
    assert past.fingerprint == fingerprint("inc-1")
    assert past.resolution == resolution("inc-1")
    assert past.resolution.resolved_at.tzinfo is not None
    (feedback,) = past.feedback
    assert feedback.verdict is FeedbackVerdict.REJECT and feedback.rank == 2
    assert feedback.given_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert past.cause == ("cart", FaultKind.MEMORY)
    assert past.rejected == ("db",)
    assert bank.past_incident("nope") is None


def test_resolving_again_replaces_the_resolution_and_corrects_alert_counts(db_engine: Engine) -> None:
    bank = SqlKnowledgeBank(db_engine)
    bank.remember(fingerprint("inc-1"))
    bank.remember(fingerprint("inc-2"))
    bank.record_resolution(resolution("inc-1"))
    bank.record_resolution(resolution("inc-2"))
    assert bank.knowledge().alerts == (AlertOutcome("LatencyHigh", incidents=2, actionable=2),)
    bank.record_resolution(resolution("inc-2", is_actionable=False, by="lead"))
    knowledge = bank.knowledge()
    assert knowledge.alerts == (AlertOutcome("LatencyHigh", incidents=2, actionable=1),)
    assert [p.fingerprint.incident_id for p in knowledge.resolved] == ["inc-1"]
    past = bank.past_incident("inc-2")
    assert past is not None and past.resolution is not None and past.resolution.resolved_by == "lead"


def test_an_unknown_incident_cannot_be_resolved_or_given_feedback(db_engine: Engine) -> None:
    bank = SqlKnowledgeBank(db_engine)
    with pytest.raises(NotInKnowledgeBank, match="'inc-9' has no fingerprint"):
        bank.record_resolution(resolution("inc-9"))
    with pytest.raises(NotInKnowledgeBank, match="'inc-9'"):
        bank.record_feedback(
            Feedback("inc-9", ServiceId("cart"), FaultKind.CPU, FeedbackVerdict.CONFIRM, T0, "ops")
        )
    assert bank.knowledge().past == ()


def test_forgetting_an_incident_takes_back_its_alert_counts(db_engine: Engine) -> None:
    bank = SqlKnowledgeBank(db_engine)
    bank.remember(fingerprint("inc-1"))
    bank.record_resolution(resolution("inc-1"))
    bank.forget("inc-1")
    assert bank.knowledge().past == () and bank.knowledge().alerts == ()


def _diagnosis(case_id: str) -> Diagnosis:
    def h(service: str, confidence: float) -> Hypothesis:
        e = Evidence(
            EvidenceKind.METRIC_ANOMALY,
            ServiceId(service),
            "memory up",
            "metrics",
            f"{service}/MemoryUsage",
            WINDOW,
            Stance.SUPPORTS,
            weight=1.0,
        )
        return Hypothesis(
            ServiceId(service), FaultKind.MEMORY, "m", 1.0, confidence, (ServiceId("frontend"),), (e,)
        )

    return Diagnosis(
        case_id, "missioncontrol", ServiceId("frontend"), T0, WINDOW, (h("cart", 0.45), h("db", 0.4))
    )


def _alert() -> Alert:
    return Alert(
        "f", "LatencyHigh", Severity.CRITICAL, AlertStatus.FIRING, ServiceId("frontend"), "p90", T0, T0
    )


def test_the_enricher_learns_from_resolutions_in_the_real_bank(db_engine: Engine) -> None:
    bank = SqlKnowledgeBank(db_engine)
    enricher = KnowledgeEnricher(bank, alerts_of=lambda _id: (_alert(),))
    first = enricher.enrich(Brief(IncidentId("inc-1"), T0, _diagnosis("inc-1")))
    assert first.similar == () and first.diagnosis.ranked_services == ("cart", "db")
    bank.record_resolution(
        Resolution("inc-1", ServiceId("db"), FaultKind.MEMORY, "raised db memory", T0, "ops")
    )
    second = enricher.enrich(Brief(IncidentId("inc-2"), T0, _diagnosis("inc-2")))
    (similar,) = second.similar
    assert (similar.incident_id, similar.cause_service, similar.fix) == ("inc-1", "db", "raised db memory")
    assert second.diagnosis.ranked_services == ("db", "cart")
    assert any(e.kind is EvidenceKind.PRIOR for e in second.diagnosis.hypotheses[0].evidence)
    assert bank.past_incident("inc-2") is not None  # remembered, ready to be resolved
