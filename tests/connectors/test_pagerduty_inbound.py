"""PagerDuty Events API v2 inbound: the documented trigger, acknowledge and resolve events as alerts."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from missioncontrol.connectors.pagerduty.mapping import to_alerts
from missioncontrol.domain import AlertStatus, Severity

SAMPLES = (
    Path(__file__).resolve().parents[2] / "src" / "missioncontrol" / "connectors" / "pagerduty" / "samples"
)
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def test_trigger_maps_summary_source_severity_component_and_details() -> None:
    (alert,), problems = to_alerts(sample("trigger.json"), received_at=NOW)
    assert problems == []
    assert alert.fingerprint == "samplekeyhere"
    assert alert.status is AlertStatus.FIRING
    assert alert.severity is Severity.INFO
    assert alert.service == "postgres"  # payload.component
    assert alert.name == "deploy"  # payload.class
    assert alert.summary == "Example alert on host1.example.com"
    assert alert.started_at == datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)
    assert alert.received_at == NOW
    assert alert.labels["group"] == "prod-datapipe"
    assert alert.labels["detail_ping time"] == "1500ms"


def test_acknowledge_and_resolve_land_on_the_same_fingerprint() -> None:
    (ack,), _ = to_alerts(sample("acknowledge.json"), received_at=NOW)
    (resolved,), _ = to_alerts(sample("resolve.json"), received_at=NOW)
    assert ack.fingerprint == resolved.fingerprint == "samplekeyhere"
    assert ack.status is AlertStatus.FIRING and ack.labels["pagerduty_action"] == "acknowledge"
    assert resolved.status is AlertStatus.RESOLVED


def test_error_severity_pages_as_critical_and_a_missing_dedup_key_is_stable() -> None:
    event = sample("trigger.json")
    event["payload"]["severity"] = "error"
    event["payload"]["custom_details"] = {"service": "checkout"}
    del event["dedup_key"]
    (first,), _ = to_alerts(event, received_at=NOW)
    (again,), _ = to_alerts(event, received_at=NOW)
    assert first.severity is Severity.CRITICAL
    assert first.service == "checkout"
    assert first.fingerprint == again.fingerprint != ""


def test_bad_events_are_named_and_do_not_drop_the_batch() -> None:
    no_summary = sample("trigger.json")
    del no_summary["payload"]["summary"]
    bad_severity = sample("trigger.json")
    bad_severity["payload"]["severity"] = "meh"
    resolve_without_key = {"routing_key": "k", "event_action": "resolve"}
    alerts, problems = to_alerts(
        [sample("trigger.json"), no_summary, bad_severity, resolve_without_key, {"event_action": "trigger"}],
        received_at=NOW,
    )
    assert len(alerts) == 1
    assert [(p.index, p.field) for p in problems] == [
        (1, "payload.summary"),
        (2, "payload.severity"),
        (3, "dedup_key"),
        (4, "routing_key"),
    ]


def test_a_timestamp_no_store_can_hold_is_refused_by_name() -> None:
    event = sample("trigger.json")
    event["payload"]["timestamp"] = "0026-05-24T02:17:16+00:00"
    alerts, (problem,) = to_alerts([event], received_at=NOW)
    assert alerts == [] and problem.field == "payload.timestamp" and "1970..2299" in problem.message
