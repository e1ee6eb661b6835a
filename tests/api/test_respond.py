"""Respond over real HTTP on both databases: an alert pages the suspect's owner (PagerDuty Events v2 and
Slack, to real receivers on loopback); actions are requested, approved and run by policy principals;
every denial path answers with what is missing; the audit log verifies afterwards."""

import hashlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from tests.api.conftest import TOKEN, Live, make_settings, serve_in_thread

from missioncontrol import bootstrap

ROUTING_KEY = "R0UT1NGKEY0000000000000000000001"
TOKENS = {"alice": "tok-alice-L1", "bob": "tok-bob-owner", "dave": "tok-dave-ic"}
RECORD = "import sys; open(sys.argv[1], 'a').write(' '.join(sys.argv[2:]) + chr(10))"


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def write_policy(path: Path, ran: Path) -> None:
    py = json.dumps(sys.executable)
    path.write_text(
        f"""
version: 1
tiers: [L1, L2, L3]
roles: [operator, service-owner, incident-commander]
default_team: sre
teams:
  - {{name: sre, escalation_tier: L3}}
  - {{name: storefront, escalation_tier: L2}}
services:
  - {{service: frontend, owner: storefront, tier: "1"}}
principals:
  - {{name: alice, tier: L1, roles: [operator], token_sha256: {sha(TOKENS["alice"])}}}
  - {{name: bob, tier: L2, roles: [operator, service-owner], token_sha256: {sha(TOKENS["bob"])}}}
  - {{name: dave, tier: L3, roles: [incident-commander], token_sha256: {sha(TOKENS["dave"])}}}
actions:
  restart:
    runner: {{command: {{command: [{py}, -c, "{RECORD}", "{ran}", restart, "{{service}}"]}}}}
  rollback:
    runner: {{command: {{command: [{py}, -c, "{RECORD}", "{ran}", rollback, "{{service}}"]}}}}
  page:
    destructive: false
    runner: {{command: {{command: [{py}, -c, "pass"]}}}}
rules:
  - {{actions: [page], min_tier: L1}}
  - {{actions: [restart], min_tier: L1, service_tiers: ["1"], approval: {{roles: [service-owner]}}}}
  - {{actions: [restart], min_tier: L1}}
  - {{actions: [rollback], min_tier: L2}}
"""
    )


@pytest.fixture
def live(db_engine: Engine, tmp_path: Path, loopback_receiver) -> Iterator[tuple[Live, Path]]:
    policy, ran = tmp_path / "policy.yaml", tmp_path / "ran.txt"
    write_policy(policy, ran)
    loopback_receiver.ok_status = 202
    settings = make_settings(
        tmp_path,
        db_engine.url.render_as_string(hide_password=False),
        policy_path=policy,
        on_duty_tier="L1",
        pagerduty_routing_key=SecretStr(ROUTING_KEY),
        pagerduty_events_url=loopback_receiver.url + "/v2/enqueue",
        slack_webhook_url=SecretStr(loopback_receiver.url + "/services/T0/B0/x"),
        outbound_allow_hosts=["127.0.0.1"],
        outbound_allow_loopback=True,
    )
    runtime = bootstrap.build_runtime(settings)
    server, thread, base = serve_in_thread(runtime)
    with httpx.Client(base_url=base, timeout=30) as client:
        yield Live(base, runtime, client), ran
        ledger = runtime.actions.ledger if runtime.actions is not None else None
        assert ledger is not None and ledger.verify().is_intact  # before shutdown disposes the pool
    server.should_exit = True
    thread.join(timeout=30)


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


def test_an_alert_pages_the_owner_and_posts_the_brief(live, loopback_receiver) -> None:
    server, _ = live
    sample = {
        "version": "4",
        "status": "firing",
        "receiver": "mc",
        "groupKey": "{}:{}",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighLatency", "service": "frontend", "severity": "critical"},
                "annotations": {"summary": "frontend slow"},
                "startsAt": "2026-12-02T09:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "fp-1",
            }
        ],
    }
    sent = time.monotonic()
    response = server.client.post(
        "/api/v1/alerts/alertmanager", json=sample, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code in (200, 202), response.text

    def page() -> dict | None:
        for _, path, _, body in list(loopback_receiver.delivered):
            if path == "/v2/enqueue":
                return json.loads(body)
        return None

    event = server.wait_for("the PagerDuty trigger", page)
    latency = time.monotonic() - sent
    assert isinstance(event, dict)
    assert event["event_action"] == "trigger" and event["routing_key"] == ROUTING_KEY
    incident_id = event["dedup_key"]
    assert server.runtime.incidents.incident(incident_id) is not None  # dedup_key = the incident id
    assert 0 < len(event["payload"]["summary"]) <= 1024 and event["payload"]["severity"] == "critical"
    assert "decision" in event["payload"]["custom_details"]
    slack = server.wait_for(
        "the Slack message",
        lambda: [
            json.loads(b) for _, p, _, b in list(loopback_receiver.delivered) if p.startswith("/services/")
        ],
    )
    assert isinstance(slack, list) and slack[0]["blocks"][0]["type"] == "header"
    brief = server.runtime.briefs.latest_brief(incident_id)
    assert brief is not None and brief.decision is not None and brief.decision.on_duty_tier == "L1"
    assert latency < 10, f"alert → page took {latency:.2f} s"


def test_request_approve_run_over_http(live) -> None:
    server, ran = live
    c = server.client
    made = c.post(
        "/api/v1/incidents/inc-9/actions",
        json={"action": "restart", "service": "frontend"},
        headers=auth("alice"),
    )
    assert made.status_code == 201, made.text
    request = made.json()
    assert request["status"] == "pending" and request["needs_approval"] and request["requested_by"] == "alice"
    rid = request["id"]
    refused = c.post(f"/api/v1/actions/{rid}/run", headers=auth("alice"))
    assert refused.status_code == 403 and "needs approval from role service-owner" in refused.json()["detail"]
    own = c.post(f"/api/v1/actions/{rid}/approve", json={}, headers=auth("dave"))
    assert own.status_code == 403 and "dave is L3 with roles incident-commander" in own.json()["detail"]
    stale = c.post(f"/api/v1/actions/{rid}/approve", json={"args_sha256": "0" * 64}, headers=auth("bob"))
    assert stale.status_code == 409 and "arguments changed" in stale.json()["detail"]
    approved = c.post(
        f"/api/v1/actions/{rid}/approve", json={"args_sha256": request["args_sha256"]}, headers=auth("bob")
    )
    assert approved.status_code == 200 and approved.json()["request_status"] == "approved"
    done = c.post(f"/api/v1/actions/{rid}/run", headers=auth("alice"))
    assert done.status_code == 200 and done.json()["is_success"], done.text
    assert ran.read_text() == "restart frontend\n"
    again = c.post(f"/api/v1/actions/{rid}/run", headers=auth("alice"))
    assert again.status_code == 409
    audit = c.get("/api/v1/audit", headers=auth("dave")).json()
    assert [e["event"] for e in audit] == [
        "request",
        "refuse",
        "refuse",
        "refuse",
        "approve",
        "run",
        "outcome",
        "refuse",
    ]
    assert all(audit[i]["prev_hash"] == audit[i - 1]["hash"] for i in range(1, len(audit)))
    verify = c.get("/api/v1/audit/verify", headers=auth("alice")).json()
    assert verify == {"is_intact": True, "entries": 8, "problem": "", "head_hash": audit[-1]["hash"]}


def test_denials_say_what_is_missing(live) -> None:
    server, ran = live
    c = server.client
    no = c.post(
        "/api/v1/incidents/inc-9/actions",
        json={"action": "rollback", "service": "checkout"},
        headers=auth("alice"),
    )
    assert (
        no.status_code == 403
        and "rollback on checkout needs L2 (rules[3]); alice is L1" in no.json()["detail"]
    )
    bad = c.post(
        "/api/v1/incidents/inc-9/actions",
        json={"action": "restart", "service": "checkout", "params": {"force": "yes"}},
        headers=auth("alice"),
    )
    assert bad.status_code == 422 and "unknown parameter" in bad.json()["detail"]
    assert c.post("/api/v1/actions/act-nope/run", headers=auth("alice")).status_code == 404
    api_token = c.post(
        "/api/v1/incidents/inc-9/actions",
        json={"action": "restart", "service": "x"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert api_token.status_code == 401  # an API token is not a principal
    assert c.get("/api/v1/audit/verify").status_code == 401
    assert not ran.exists()


def test_a_resolved_incident_resolves_its_page(live, loopback_receiver) -> None:
    server, _ = live
    alert = {
        "status": "firing",
        "labels": {"alertname": "HighErrors", "service": "checkout", "severity": "warning"},
        "annotations": {"summary": "checkout errors"},
        "startsAt": "2026-12-02T09:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "fp-resolve",
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def events(action: str) -> list[dict]:
        found = [json.loads(b) for _, p, _, b in list(loopback_receiver.delivered) if p == "/v2/enqueue"]
        return [e for e in found if e["event_action"] == action]

    body = {"version": "4", "status": "firing", "receiver": "mc", "groupKey": "{}:{}", "alerts": [alert]}
    assert server.client.post("/api/v1/alerts/alertmanager", json=body, headers=headers).status_code in (
        200,
        202,
    )
    triggers = server.wait_for("the trigger", lambda: events("trigger"))
    assert isinstance(triggers, list) and triggers[0]["payload"]["severity"] == "warning"
    resolved = {**alert, "status": "resolved", "endsAt": "2026-12-02T09:10:00Z"}
    body = {**body, "status": "resolved", "alerts": [resolved]}
    assert server.client.post("/api/v1/alerts/alertmanager", json=body, headers=headers).status_code in (
        200,
        202,
    )
    resolves = server.wait_for("the resolve", lambda: events("resolve"))
    assert isinstance(resolves, list)
    assert resolves[0] == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": triggers[0]["dedup_key"],
    }


def test_audit_paging_past_any_stored_seq_is_refused_by_name_not_a_server_error(live) -> None:
    """Found by the OpenAPI fuzz: after_seq beyond the INTEGER column failed in the driver as a 500."""
    server, _ = live
    huge = server.client.get(f"/api/v1/audit?after_seq={2**63}", headers=auth("dave"))
    assert huge.status_code == 422 and huge.json()["detail"].startswith("query.after_seq:"), huge.text
    last = server.client.get(f"/api/v1/audit?after_seq={2**31 - 1}", headers=auth("dave"))
    assert last.status_code == 200 and last.json() == []
