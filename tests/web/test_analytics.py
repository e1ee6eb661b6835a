"""SRE-lead analytics, computed by hand on a handful of incidents."""

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from missioncontrol.domain import Decision, FaultKind, ServiceId, Verdict
from missioncontrol.engine.analytics import IncidentRecord, compute_analytics, to_table


def test_accuracy_rank_times_escalations_and_noise(
    incident_factory: Callable[..., Any], brief_factory: Callable[..., Any]
) -> None:
    inc = [incident_factory(n) for n in range(1, 5)]
    brief = brief_factory()  # ranks payments first, cart second
    start = inc[0].alerts[0].received_at
    escalate = Decision(
        Verdict.ESCALATE, "L1", escalate_to="team-payments/L2", missing_authority="rollback needs L2"
    )
    records = [
        # right first: payments confirmed
        IncidentRecord(
            replace(inc[0], resolved_at=start + timedelta(minutes=10)),
            brief,
            start + timedelta(seconds=3),
            ServiceId("payments"),
            FaultKind.CPU,
        ),
        # wrong first: cart confirmed, rank 2, escalated for missing authority
        IncidentRecord(
            replace(inc[1], resolved_at=start + timedelta(minutes=30)),
            replace(brief, decision=escalate),
            start + timedelta(seconds=5),
            ServiceId("cart"),
            FaultKind.LATENCY,
        ),
        # resolved as noise: no confirmed cause
        IncidentRecord(
            replace(inc[2], resolved_at=start + timedelta(minutes=2)), brief, start + timedelta(seconds=4)
        ),
        # still open, no brief yet
        IncidentRecord(inc[3]),
    ]
    a = compute_analytics(records)
    assert (a.incidents, a.resolved, a.judged, a.first_hypothesis_correct) == (4, 3, 2, 1)
    assert a.first_hypothesis_accuracy == 0.5
    assert a.rank_of_confirmed == (("1", 1), ("2", 1))
    assert a.alert_to_brief.count == 3 and a.alert_to_brief.median_s == 4.0 and a.alert_to_brief.max_s == 5.0
    assert a.alert_to_resolution.max_s == 1800.0
    assert a.escalations_by_tier == (("team-payments/L2", 1),)
    assert a.escalations_by_reason == (("missing authority", 1),)
    (high_latency,) = a.alerts
    assert (
        high_latency.incidents,
        high_latency.wrong_first,
        high_latency.actionable,
        high_latency.noise,
    ) == (4, 1, 2, 1)
    assert high_latency.signal_to_noise == 2 / 3
    # the wrong-first incident is the complex one: 2 hops + 1 miss + 1 weakened = 4 (right ones: 3)
    assert a.complex_patterns[0].key == "frontend → cart" and a.complex_patterns[0].mean_complexity == 4.0
    rows = to_table(a)
    assert {"metric": "first_hypothesis_accuracy", "key": "", "value": 0.5} in rows


def test_no_data_is_none_not_zero() -> None:
    a = compute_analytics([])
    assert a.first_hypothesis_accuracy is None and a.alert_to_brief.median_s is None
