"""`missionctl policy check`, `approve` and `audit verify|list` against the state database from settings."""

from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from missioncontrol import bootstrap
from missioncontrol.cli.main import app
from missioncontrol.connectors.policyfile import SAMPLE_POLICY
from missioncontrol.settings import Settings

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "MISSIONCONTROL_STATE_DIR": str(tmp_path / "state"),
        "MISSIONCONTROL_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "MISSIONCONTROL_POLICY_PATH": str(SAMPLE_POLICY),
    }


def settings_of(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return Settings()


def test_policy_check_accepts_the_sample() -> None:
    result = runner.invoke(app, ["policy", "check", str(SAMPLE_POLICY)])
    assert result.exit_code == 0, result.output
    assert "ok — 3 tiers, 15 teams, 4 principals, 6 actions, 5 rules" in " ".join(result.output.split())


def test_policy_check_lists_every_problem_with_its_path(tmp_path: Path) -> None:
    raw = yaml.safe_load(SAMPLE_POLICY.read_text())
    raw["rules"][2]["actions"] = ["reboot"]
    raw["principals"][0]["tier"] = "L9"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: rules[2].actions[0]: unknown action 'reboot'" in result.output
    assert f"{bad}: principals[0].tier: unknown tier 'L9'" in result.output


def test_approve_as_a_principal_then_the_audit_verifies(env: dict[str, str], monkeypatch) -> None:
    settings = settings_of(env, monkeypatch)
    policy = bootstrap.build_policy(settings)
    assert policy is not None
    db = bootstrap.open_action_ledger(settings).engine
    desk = bootstrap.build_action_desk(settings, policy, db=db)
    alice = policy.principal("alice")
    assert alice is not None
    request = desk.request(
        alice,
        incident_id="inc-1",
        action="scale",
        service="payments",
        params={"namespace": "pay", "replicas": "4"},
    )
    refused = runner.invoke(app, ["approve", request.id, "--token", "demo-token-noc-alice"], env=env)
    assert refused.exit_code == 2 and "alice" in refused.output
    wrong = runner.invoke(app, ["approve", request.id, "--token", "nobody"], env=env)
    assert wrong.exit_code == 2 and "not a principal's" in wrong.output
    ok = runner.invoke(app, ["approve", request.id, "--token", "demo-token-owner-bob"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "approved by bob" in ok.output and "request is now approved" in ok.output
    verify = runner.invoke(app, ["audit", "verify"], env=env)
    assert verify.exit_code == 0 and "audit log verifies: 3 entries" in verify.output
    listing = runner.invoke(app, ["audit", "list"], env=env)
    assert listing.exit_code == 0 and "approve" in listing.output and "refuse" in listing.output
    db.dispose()


def test_audit_verify_fails_on_a_tampered_log(env: dict[str, str], monkeypatch) -> None:
    settings = settings_of(env, monkeypatch)
    ledger = bootstrap.open_action_ledger(settings)
    for i in range(3):
        ledger.audit(actor="alice", event="refuse", subject=f"s{i}", details={})
    with ledger.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    result = runner.invoke(app, ["audit", "verify"], env=env)
    ledger.engine.dispose()
    assert result.exit_code == 1
    assert "does NOT verify after 1 good entries: entry 2: content does not match its hash" in " ".join(
        result.output.split()
    )
