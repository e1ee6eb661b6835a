"""Actions with approval, on the real state store and real runners: every denial path, and the invariant
that no action runs without a matching, argument-bound, unexpired approval where the policy asks for one.

After every test the audit log must verify and, read on its own, show no run without its approvals.
"""

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from missioncontrol.connectors.outbound import HttpOutbound
from missioncontrol.connectors.policyfile import to_policy
from missioncontrol.connectors.runbook import RunbookRunner
from missioncontrol.domain import CatalogEntry, ServiceId
from missioncontrol.domain.respond import (
    ActionStatus,
    AuditEntry,
    InvalidAction,
    NotAllowed,
    Policy,
    Principal,
    UnknownActionRequest,
)
from missioncontrol.engine.actions import ActionDesk
from missioncontrol.storage.respond import SqlActionLedger

RECORD = "import sys; open(sys.argv[1], 'a').write(' '.join(sys.argv[2:]) + chr(10))"


def policy_yaml(ran: Path, receiver_url: str = "http://127.0.0.1:9") -> str:
    py = json.dumps(sys.executable)
    return f"""
version: 1
tiers: [L1, L2, L3]
roles: [operator, service-owner, incident-commander]
default_team: sre
teams: [{{name: sre}}, {{name: payments}}]
principals:
  - {{name: alice, tier: L1, roles: [operator]}}
  - {{name: bob, tier: L2, roles: [operator, service-owner]}}
  - {{name: carol, tier: L3, roles: [operator]}}
  - {{name: dave, tier: L3, roles: [incident-commander]}}
  - {{name: erin, tier: L2, roles: [service-owner]}}
actions:
  restart:
    params: {{namespace: "[a-z0-9-]{{1,63}}"}}
    runner: {{command: {{command: [{py}, -c, "{RECORD}", "{ran}", restart, "{{service}}", "{{namespace}}"]}}}}
  scale:
    params: {{replicas: "[1-9][0-9]?"}}
    runner: {{command: {{command: [{py}, -c, "{RECORD}", "{ran}", scale, "{{service}}", "{{replicas}}"]}}}}
  rollback:
    runner: {{command: {{command: [{py}, -c, "{RECORD}", "{ran}", rollback, "{{service}}"]}}}}
  hang:
    runner: {{command: {{command: [{py}, -c, "import time; time.sleep(30)"], timeout_s: 0.5}}}}
  flag_off:
    params: {{flag: "[a-z_]+"}}
    runner: {{http: {{url: "{receiver_url}/flags/{{flag}}/off", body: {{service: "{{service}}"}}}}}}
rules:
  - {{actions: [restart, scale, hang, flag_off], min_tier: L1, services: ["payment*"],
      approval: {{roles: [service-owner], ttl_s: 600}}}}
  - {{actions: [restart, scale, hang, flag_off], min_tier: L1}}
  - {{actions: [rollback], min_tier: L2, approval: {{roles: [incident-commander], count: 2, min_tier: L3}}}}
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def runs_without_approval(entries: tuple[AuditEntry, ...]) -> list[str]:
    """Read the audit log alone and return every run that lacks the approvals its request asked for."""
    requests: dict[str, dict] = {}
    approvals: dict[str, list[AuditEntry]] = {}
    bad: list[str] = []
    for e in entries:
        if e.event == "request":
            requests[e.subject] = dict(e.details)
        elif e.event == "approve":
            approvals.setdefault(e.subject, []).append(e)
        elif e.event == "run":
            request = requests.get(e.subject)
            if request is None:
                bad.append(f"{e.subject}: run without a request")
                continue
            if not request["needs_approval"]:
                continue
            valid = {
                a.actor
                for a in approvals.get(e.subject, [])
                if a.details["args_sha256"] == request["args_sha256"] == e.details["args_sha256"]
                and datetime.fromisoformat(str(a.details["expires_at"])) > e.at
            }
            if len(valid) < request["approvals_needed"]:
                bad.append(f"{e.subject}: run with {len(valid)} of {request['approvals_needed']} approvals")
    return bad


@pytest.fixture
def setup(
    db_engine: Engine, tmp_path: Path, loopback_receiver
) -> Iterator[tuple[ActionDesk, Policy, Clock, Path]]:
    ran = tmp_path / "ran.txt"
    policy = to_policy(policy_yaml(ran, loopback_receiver.url), path="test-policy.yaml")
    clock = Clock()
    ledger = SqlActionLedger(db_engine, clock=clock)
    runner = RunbookRunner(outbound=HttpOutbound(allow_hosts=["127.0.0.1"], allow_loopback=True))
    catalog = {"payments": CatalogEntry(service=ServiceId("payments"), owner="payments", tier="1")}
    desk = ActionDesk(policy, ledger=ledger, runner=runner, catalog=catalog.get, clock=clock)
    yield desk, policy, clock, ran
    entries = ledger.entries(limit=100_000)
    assert ledger.verify().is_intact, ledger.verify().problem
    assert runs_without_approval(entries) == []
    runs = [e for e in entries if e.event == "outcome" and e.details["success"]]
    lines = ran.read_text().splitlines() if ran.exists() else []
    assert len(lines) == len(
        [r for r in runs if r.subject in {e.subject for e in entries if e.event == "run"}]
    )


def who(policy: Policy, name: str) -> Principal:
    principal = policy.principal(name)
    assert principal is not None
    return principal


def test_an_action_without_approval_runs_at_once_and_is_audited(setup) -> None:
    desk, policy, _, ran = setup
    alice = who(policy, "alice")
    request = desk.request(
        alice, incident_id="inc-1", action="restart", service="checkout", params={"namespace": "shop"}
    )
    assert request.status is ActionStatus.APPROVED and not request.needs_approval
    outcome = desk.run(alice, request.id)
    assert outcome.is_success and outcome.exit_code == 0
    assert ran.read_text() == "restart checkout shop\n"
    assert desk.get(request.id).status is ActionStatus.SUCCEEDED
    events = [e.event for e in desk.ledger.entries()]
    assert events == ["request", "run", "outcome"]


def test_a_pending_request_does_not_run(setup) -> None:
    desk, policy, _, ran = setup
    alice = who(policy, "alice")
    request = desk.request(
        alice, incident_id="inc-1", action="scale", service="payments", params={"replicas": "6"}
    )
    assert request.status is ActionStatus.PENDING
    with pytest.raises(NotAllowed, match=r"needs approval from role service-owner .* 0 of 1 valid"):
        desk.run(alice, request.id)
    assert not ran.exists()
    assert desk.ledger.entries()[-1].event == "refuse"


def test_an_approved_request_runs_once(setup) -> None:
    desk, policy, _, ran = setup
    alice, bob = who(policy, "alice"), who(policy, "bob")
    request = desk.request(
        alice, incident_id="inc-1", action="scale", service="payments", params={"replicas": "6"}
    )
    desk.approve(bob, request.id, args_sha256=request.args_sha256)
    assert desk.run(alice, request.id).is_success
    with pytest.raises(InvalidAction, match="is succeeded, not approved"):
        desk.run(alice, request.id)
    assert ran.read_text() == "scale payments 6\n"
    run = next(e for e in desk.ledger.entries() if e.event == "run")
    assert run.details["approvals"][0]["approver"] == "bob"


def test_an_expired_approval_does_not_count(setup) -> None:
    desk, policy, clock, ran = setup
    alice, bob = who(policy, "alice"), who(policy, "bob")
    request = desk.request(
        alice, incident_id="inc-1", action="scale", service="payments", params={"replicas": "6"}
    )
    desk.approve(bob, request.id)
    clock.now += timedelta(seconds=601)
    with pytest.raises(NotAllowed, match="0 of 1 valid"):
        desk.run(alice, request.id)
    assert not ran.exists()


def test_an_approval_binds_to_the_arguments_the_approver_saw(setup) -> None:
    desk, policy, _, ran = setup
    alice, bob = who(policy, "alice"), who(policy, "bob")
    six = desk.request(
        alice, incident_id="inc-1", action="scale", service="payments", params={"replicas": "6"}
    )
    ninety = desk.request(
        alice, incident_id="inc-1", action="scale", service="payments", params={"replicas": "90"}
    )
    with pytest.raises(InvalidAction, match="arguments changed"):
        desk.approve(bob, ninety.id, args_sha256=six.args_sha256)
    desk.approve(bob, six.id, args_sha256=six.args_sha256)
    with pytest.raises(NotAllowed, match="0 of 1 valid"):
        desk.run(alice, ninety.id)
    assert not ran.exists()


def test_a_tampered_request_row_does_not_run(setup, db_engine: Engine) -> None:
    desk, policy, _, ran = setup
    alice, bob = who(policy, "alice"), who(policy, "bob")
    request = desk.request(
        alice, incident_id="inc-1", action="scale", service="payments", params={"replicas": "6"}
    )
    desk.approve(bob, request.id)
    forged = json.dumps([["incident_id", "inc-1"], ["replicas", "99"], ["service", "payments"]])
    with db_engine.begin() as conn:
        conn.execute(
            text("UPDATE action_requests SET args = :a WHERE id = :i"), {"a": forged, "i": request.id}
        )
    with pytest.raises(NotAllowed, match="arguments do not match their hash"):
        desk.run(alice, request.id)
    assert not ran.exists()


def test_the_requester_cannot_approve_their_own_request(setup) -> None:
    desk, policy, _, _ = setup
    bob = who(policy, "bob")
    request = desk.request(
        bob, incident_id="inc-1", action="scale", service="payments", params={"replicas": "3"}
    )
    with pytest.raises(NotAllowed, match=r"bob requested .* and may not approve it too"):
        desk.approve(bob, request.id)
    assert desk.get(request.id).status is ActionStatus.PENDING


def test_only_the_named_roles_may_approve(setup) -> None:
    desk, policy, _, _ = setup
    alice, carol = who(policy, "alice"), who(policy, "carol")
    request = desk.request(
        alice, incident_id="inc-1", action="restart", service="payments", params={"namespace": "pay"}
    )
    with pytest.raises(
        NotAllowed, match="needs approval from role service-owner; carol is L3 with roles operator"
    ):
        desk.approve(carol, request.id)  # L3, but the rule asks for the role


def test_a_tier_without_authority_cannot_request_and_is_told_which_tier_it_needs(setup) -> None:
    desk, policy, _, _ = setup
    with pytest.raises(NotAllowed, match=r"rollback on checkout needs L2 \(rules\[2\]\); alice is L1"):
        desk.request(
            who(policy, "alice"), incident_id="inc-1", action="rollback", service="checkout", params={}
        )
    refusal = desk.ledger.entries()[-1]
    assert refusal.event == "refuse" and refusal.actor == "alice" and "needs L2" in refusal.details["reason"]


def test_two_approvals_from_distinct_eligible_approvers(setup) -> None:
    desk, policy, _, ran = setup
    bob, carol, dave = who(policy, "bob"), who(policy, "carol"), who(policy, "dave")
    request = desk.request(bob, incident_id="inc-1", action="rollback", service="checkout", params={})
    desk.approve(dave, request.id)
    with pytest.raises(InvalidAction, match="already approved"):
        desk.approve(dave, request.id)
    with pytest.raises(NotAllowed, match="1 of 2 valid"):
        desk.run(bob, request.id)
    desk.approve(carol, request.id)  # L3 counts through min_tier
    assert desk.run(bob, request.id).is_success
    assert ran.read_text() == "rollback checkout\n"


def test_the_runner_needs_authority_too(setup) -> None:
    desk, policy, _, _ = setup
    bob, dave, alice = who(policy, "bob"), who(policy, "dave"), who(policy, "alice")
    request = desk.request(bob, incident_id="inc-1", action="rollback", service="checkout", params={})
    with pytest.raises(NotAllowed, match="alice is L1"):
        desk.run(alice, request.id)
    desk.approve(dave, request.id)


def test_denied_requests_never_run(setup) -> None:
    desk, policy, _, ran = setup
    alice, erin = who(policy, "alice"), who(policy, "erin")
    request = desk.request(
        alice, incident_id="inc-1", action="restart", service="payments", params={"namespace": "p"}
    )
    desk.deny(erin, request.id, reason="not during the sale")
    with pytest.raises(InvalidAction, match="is denied; nothing to approve"):
        desk.approve(erin, request.id)
    with pytest.raises(InvalidAction, match="is denied"):
        desk.run(alice, request.id)
    assert not ran.exists()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"namespace": "shop; rm -rf /"}, "does not match the policy's pattern"),
        ({}, "missing parameter"),
        ({"namespace": "shop", "kubeconfig": "/root"}, "unknown parameter"),
    ],
)
def test_arguments_are_checked_against_the_policy(setup, params: dict, message: str) -> None:
    desk, policy, _, _ = setup
    with pytest.raises(InvalidAction, match=message):
        desk.request(
            who(policy, "alice"), incident_id="inc-1", action="restart", service="checkout", params=params
        )


def test_unknown_actions_and_requests(setup) -> None:
    desk, policy, _, _ = setup
    with pytest.raises(InvalidAction, match="unknown action 'reboot'"):
        desk.request(
            who(policy, "alice"), incident_id="inc-1", action="reboot", service="checkout", params={}
        )
    with pytest.raises(UnknownActionRequest):
        desk.run(who(policy, "alice"), "act-nope")


def test_a_command_past_its_timeout_is_killed_and_recorded_as_failed(setup) -> None:
    desk, policy, _, _ = setup
    alice = who(policy, "alice")
    request = desk.request(alice, incident_id="inc-1", action="hang", service="checkout", params={})
    outcome = desk.run(alice, request.id)
    assert not outcome.is_success and "timed out after 0.5s" in outcome.error
    assert desk.get(request.id).status is ActionStatus.FAILED
    assert desk.ledger.entries()[-1].details["success"] is False


def test_an_http_action_calls_the_receiver_once_with_quoted_values(setup, loopback_receiver) -> None:
    desk, policy, _, _ = setup
    alice = who(policy, "alice")
    loopback_receiver.fail_every = 1
    request = desk.request(
        alice, incident_id="inc-1", action="flag_off", service="checkout", params={"flag": "new_ui"}
    )
    outcome = desk.run(alice, request.id)
    assert not outcome.is_success and outcome.http_status == 503
    assert len(loopback_receiver.received) == 1  # never repeated by itself
    method, path, _, body = loopback_receiver.received[0]
    assert (method, path, json.loads(body)) == ("POST", "/flags/new_ui/off", {"service": "checkout"})
