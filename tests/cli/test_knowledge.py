"""`missionctl resolve` and `missionctl feedback` against the state database from settings."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from missioncontrol import bootstrap
from missioncontrol.cli import errors as cli_errors
from missioncontrol.cli import incidents, knowledge
from missioncontrol.cli.main import app
from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Brief,
    Diagnosis,
    FaultKind,
    GroupingReason,
    Hypothesis,
    IncidentId,
    ServiceId,
    Severity,
)
from missioncontrol.domain.incidents import Placement
from missioncontrol.domain.knowledge import FeedbackVerdict
from missioncontrol.settings import Settings
from missioncontrol.storage.db import create_db_engine
from missioncontrol.storage.incidents import write_alerts

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for module in (knowledge, incidents):
        monkeypatch.setattr(module, "console", Console(color_system=None, force_terminal=False, width=200))
    monkeypatch.setattr(
        cli_errors, "errors", Console(stderr=True, color_system=None, force_terminal=False, soft_wrap=True)
    )
    monkeypatch.setenv("MISSIONCONTROL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("MISSIONCONTROL_DATABASE_URL", raising=False)


def investigated_incident() -> IncidentId:
    """Store an incident with one alert and a two-hypothesis brief, as the live service would."""
    bank, store = bootstrap.open_knowledge_state(Settings())
    alert = Alert(
        "fp", "HighErrorRate", Severity.CRITICAL, AlertStatus.FIRING, ServiceId("shop"), "errors", T0, T0
    )
    incident = IncidentId("inc-1")
    db = create_db_engine(Settings().state_database_url())
    with db.begin() as conn:  # the inbox's own write, without its thread
        write_alerts(conn, [alert])
    db.dispose()
    reason = GroupingReason("fp", "new", "first alert", T0)
    store.record_placements([Placement(alert, incident, reason, opens_incident=True, title="errors on shop")])
    hypotheses = tuple(
        Hypothesis(ServiceId(s), FaultKind.ERRORS, "c", 1.0, c, (ServiceId("shop"),), ())
        for s, c in (("cart", 0.6), ("db", 0.3))
    )
    window = (T0, T0 + timedelta(minutes=5))
    store.save_brief(
        Brief(incident, T0, Diagnosis("inc-1", "missioncontrol", ServiceId("shop"), T0, window, hypotheses))
    )
    assert bank.past_incident(incident) is None  # built before the bank knew it
    return incident


def test_resolve_records_the_cause_of_an_investigated_incident() -> None:
    incident = investigated_incident()
    args = [
        "resolve",
        incident,
        "--service",
        "db",
        "--fault",
        "memory",
        "--fix",
        "bigger pool",
        "--by",
        "ana",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Resolved inc-1: db (memory)" in result.output
    bank, _ = bootstrap.open_knowledge_state(Settings())
    past = bank.past_incident(incident)
    assert past is not None and past.resolution is not None
    assert (past.cause, past.resolution.fix, past.resolution.resolved_by) == (
        ("db", FaultKind.MEMORY),
        "bigger pool",
        "ana",
    )
    assert "alert:HighErrorRate" in past.fingerprint.tokens
    _, store = bootstrap.open_knowledge_state(Settings())
    closed = store.incident(incident)
    assert closed is not None and closed.status.value == "resolved"
    closing = store.latest_brief(incident)
    assert closing is not None and closing.version == 2
    assert closing.notes[-1] == "Resolved by ana: confirmed cause db (memory); fix: bigger pool."


def test_incidents_lists_and_show_prints_the_latest_brief() -> None:
    incident = investigated_incident()
    listed = CliRunner().invoke(app, ["incidents"])
    assert listed.exit_code == 0, listed.output
    assert "inc-1" in listed.output and "cart (errors, 60%)" in listed.output
    assert "No incidents" in CliRunner().invoke(app, ["incidents", "--status", "resolved"]).output
    shown = CliRunner().invoke(app, ["show", incident])
    assert shown.exit_code == 0, shown.output
    assert "Prime suspect: cart" in shown.output and "first alert" in shown.output
    as_json = CliRunner().invoke(app, ["show", incident, "--json"])
    assert as_json.exit_code == 0 and '"incident_id": "inc-1"' in as_json.output
    missing = CliRunner().invoke(app, ["show", "nope"])
    assert missing.exit_code == 2 and "no incident 'nope'" in missing.output
    wrong = CliRunner().invoke(app, ["incidents", "--status", "gone"])
    assert wrong.exit_code == 2 and "--status must be one of" in wrong.output


def test_feedback_confirms_or_rejects_a_hypothesis_by_rank() -> None:
    incident = investigated_incident()
    assert CliRunner().invoke(app, ["feedback", incident, "--hypothesis", "2", "--reject"]).exit_code == 0
    result = CliRunner().invoke(
        app, ["feedback", incident, "--hypothesis", "1", "--confirm", "--note", "yes"]
    )
    assert result.exit_code == 0, result.output
    bank, _ = bootstrap.open_knowledge_state(Settings())
    past = bank.past_incident(incident)
    assert past is not None
    assert [(f.service, f.verdict, f.rank) for f in past.feedback] == [
        ("db", FeedbackVerdict.REJECT, 2),
        ("cart", FeedbackVerdict.CONFIRM, 1),
    ]
    assert past.cause == ("cart", FaultKind.ERRORS)


def test_errors_name_what_was_wrong_with_exit_code_two() -> None:
    incident = investigated_incident()
    cases = [
        (["resolve", "nope", "--service", "a", "--fault", "cpu"], "no incident 'nope'"),
        (["resolve", incident, "--service", "a", "--fault", "gremlins"], "--fault must be one of"),
        (["resolve", incident, "--fix", "x"], "--service and --fault are required"),
        (["feedback", incident, "--hypothesis", "3", "--confirm"], "the latest brief has 2"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
