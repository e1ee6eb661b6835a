"""Grouping: alerts join incidents by fingerprint, service, topology and time, and say why."""

from datetime import UTC, datetime, timedelta

from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Incident,
    IncidentId,
    IncidentStatus,
    ServiceGraph,
    ServiceId,
    Severity,
)
from missioncontrol.engine.grouping import GroupingConfig, group, incident_id_for

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
GRAPH = ServiceGraph.from_edges(
    [("frontend", "checkout"), ("checkout", "payments"), ("payments", "db"), ("search", "index")]
)


def alert(
    fp: str, service: str | None, *, at_s: float = 0, status: AlertStatus = AlertStatus.FIRING
) -> Alert:
    return Alert(
        fingerprint=fp,
        name=f"High{fp}",
        severity=Severity.CRITICAL,
        status=status,
        service=ServiceId(service) if service else None,
        signal="latency_p90",
        started_at=T0 + timedelta(seconds=at_s),
        received_at=T0 + timedelta(seconds=at_s + 1),
    )


def incident_of(*alerts: Alert) -> Incident:
    return Incident(
        id=IncidentId("inc-open"),
        title="open",
        status=IncidentStatus.OPEN,
        severity=Severity.CRITICAL,
        symptom=alerts[0].service,
        opened_at=alerts[0].started_at,
        updated_at=alerts[-1].started_at,
        alerts=alerts,
    )


def test_first_alert_opens_an_incident_with_a_stable_id() -> None:
    (p,) = group([alert("a", "payments")], [], GRAPH)
    assert p.opens_incident and p.reason.rule == "new"
    assert p.incident_id == incident_id_for(alert("a", "payments"))
    assert "opens a new incident" in p.reason.explanation
    assert p.title == "Higha on payments"


def test_neighbour_within_hops_and_window_joins_with_the_path_and_delay_explained() -> None:
    placements = group([alert("a", "payments"), alert("b", "checkout", at_s=40)], [], GRAPH)
    first, second = placements
    assert second.incident_id == first.incident_id and not second.opens_incident
    assert second.reason.rule == "topology"
    assert second.reason.explanation.startswith("checkout calls payments (1 hop)")
    assert "fired 40 s after payments's Higha" in second.reason.explanation


def test_two_hops_join_but_three_do_not() -> None:
    two = group([alert("a", "db"), alert("b", "checkout", at_s=5)], [], GRAPH)
    assert two[1].incident_id == two[0].incident_id and "(2 hops)" in two[1].reason.explanation
    three = group([alert("a", "db"), alert("b", "frontend", at_s=5)], [], GRAPH)
    assert three[1].opens_incident


def test_unrelated_service_or_late_alert_opens_its_own_incident() -> None:
    unrelated = group([alert("a", "payments"), alert("b", "search", at_s=5)], [], GRAPH)
    assert unrelated[1].opens_incident
    config = GroupingConfig(window=timedelta(minutes=5))
    late = group([alert("a", "payments"), alert("b", "checkout", at_s=600)], [], GRAPH, config=config)
    assert late[1].opens_incident


def test_same_service_joins_without_a_graph() -> None:
    placements = group([alert("a", "payments"), alert("b", "payments", at_s=30)], [], None)
    assert placements[1].reason.rule == "same_service"
    assert placements[1].incident_id == placements[0].incident_id


def test_resend_or_resolution_of_a_known_alert_joins_its_incident() -> None:
    known = alert("a", "payments")
    resolved = alert("a", "payments", status=AlertStatus.RESOLVED)
    (p,) = group([resolved], [incident_of(known)], GRAPH)
    assert p.incident_id == IncidentId("inc-open") and p.reason.rule == "same_fingerprint"
    assert "resolved" in p.reason.explanation


def test_alert_joins_an_already_open_incident_from_the_store() -> None:
    (p,) = group([alert("b", "checkout", at_s=60)], [incident_of(alert("a", "payments"))], GRAPH)
    assert p.incident_id == IncidentId("inc-open") and p.reason.rule == "topology"


def test_alert_without_a_service_opens_its_own_incident_and_says_why() -> None:
    (p,) = group([alert("a", None)], [], GRAPH)
    assert p.opens_incident and "cannot be placed in the call graph" in p.reason.explanation


def test_grouping_is_order_independent_and_deterministic() -> None:
    alerts = [alert("b", "checkout", at_s=40), alert("a", "payments"), alert("c", "search", at_s=50)]
    assert group(alerts, [], GRAPH) == group(list(reversed(alerts)), [], GRAPH)


def test_known_fingerprint_goes_back_to_its_incident_even_when_it_is_no_longer_open() -> None:
    resolved = alert("a", "payments", status=AlertStatus.RESOLVED)
    (p,) = group([resolved], [], GRAPH, known={"a": IncidentId("inc-closed")})
    assert p.incident_id == IncidentId("inc-closed") and p.reason.rule == "same_fingerprint"
    assert not p.opens_incident
