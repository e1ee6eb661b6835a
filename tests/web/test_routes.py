"""The board over HTTP: sign-in, CSRF, the pages, filters, threads, exports, the event stream."""

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from missioncontrol.domain import Severity


def signed_in(estate: Any, user: str, password: str | None = None) -> TestClient:
    client = TestClient(estate.app, base_url="http://testserver")
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login",
        data={"username": user, "password": password or f"{user}-pw", "csrf_token": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_pages_need_sign_in_and_sign_in_needs_csrf_and_the_password(estate: Any) -> None:
    client = TestClient(estate.app)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    client.get("/login")
    no_csrf = client.post(
        "/login", data={"username": "alice", "password": "alice-pw"}, follow_redirects=False
    )
    assert no_csrf.status_code == 403
    csrf = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"username": "alice", "password": "nope", "csrf_token": csrf})
    assert wrong.status_code == 401 and "wrong password" in wrong.text
    stranger = client.post("/login", data={"username": "mallory", "password": "x", "csrf_token": csrf})
    assert stranger.status_code == 401
    forged = TestClient(estate.app)
    forged.cookies.set("mc_session", "eyJ1IjoiZGF2ZSJ9.forged.sig")
    assert forged.get("/", follow_redirects=False).status_code == 303


def test_board_orders_by_severity_then_age_and_filters(
    estate: Any, incident_factory: Any, brief_factory: Any
) -> None:
    from missioncontrol.domain import Severity as S

    t0 = incident_factory(1).opened_at
    estate.add(incident_factory(1, severity=S.WARNING, service="cart", opened=t0 - timedelta(hours=2)))
    estate.add(
        incident_factory(2, severity=S.CRITICAL, service="frontend", opened=t0), brief_factory("inc-00002")
    )
    estate.add(incident_factory(3, severity=S.CRITICAL, service="catalog", opened=t0 - timedelta(hours=1)))
    client = signed_in(estate, "alice")
    html = client.get("/").text
    order = re.findall(r'data-incident="(inc-\d+)"', html)
    assert order == ["inc-00003", "inc-00002", "inc-00001"]
    assert "payments (cpu)" in html and "first alert: opened a new incident" in html
    assert re.findall(r'data-incident="(inc-\d+)"', client.get("/?severity=warning").text) == ["inc-00001"]
    assert re.findall(r'data-incident="(inc-\d+)"', client.get("/?service=catalog").text) == ["inc-00003"]
    assert re.findall(r'data-incident="(inc-\d+)"', client.get("/?team=team-payments").text) == ["inc-00002"]
    wall = client.get("/?wall=1").text
    assert '<body class="wall">' in wall


def test_incident_page_shows_graph_charts_decision_and_timeline(
    estate: Any, incident_factory: Any, brief_factory: Any
) -> None:
    estate.add(incident_factory(1), brief_factory())
    html = signed_in(estate, "alice").get("/incident/inc-00001").text
    assert 'class="graph"' in html and 'class="node anomalous on-path cause" data-service="payments"' in html
    assert html.count('class="spark bars"') == 3  # no telemetry store wired: value vs baseline, said so
    assert "value vs baseline (from the brief)" in html
    assert "its onset came after payments" in html  # weakened alternative
    assert "rolled back payments 2.3.1" in html  # similar incident's fix
    assert re.search(r"tl-alert.*tl-grouping.*tl-brief", html, re.S)
    assert signed_in(estate, "alice").get("/incident/nope").status_code == 404


def test_a_storm_incident_page_lists_its_digest_and_the_board_counts_every_alert(
    estate: Any, incident_factory: Any, monkeypatch: Any
) -> None:
    from dataclasses import replace

    from missioncontrol.domain import GroupingReason
    from missioncontrol.web import routes

    base = incident_factory(1)
    (first,) = base.alerts
    alerts = tuple(
        replace(first, fingerprint=f"storm{k}", started_at=first.started_at + timedelta(seconds=k))
        for k in range(6)
    )
    reasons = tuple(
        GroupingReason(a.fingerprint, "same_service", "same service", a.received_at) for a in alerts
    )
    estate.add(replace(base, alerts=alerts, grouping=reasons))
    client = signed_in(estate, "alice")
    monkeypatch.setattr(routes, "PAGE_ALERTS_IN_FULL", 3)  # stands for 500
    html = client.get("/incident/inc-00001").text
    assert "1 of 6 alerts shown (6 firing)" in html
    monkeypatch.setattr(routes, "PAGE_ALERTS_IN_FULL", 500)
    assert "alerts shown" not in client.get("/incident/inc-00001").text  # a small incident: every alert
    board = client.get("/").text  # open_incidents holds 2 of them (first and last): the row says 6
    assert "inc-00001 · 6 alerts ·" in board


def test_threads_are_assigned_by_commanders_only_and_need_csrf(estate: Any, incident_factory: Any) -> None:
    estate.add(incident_factory(1))
    dave = signed_in(estate, "dave")  # incident-commander
    csrf = csrf_of(dave.get("/incident/inc-00001").text)
    refused = dave.post(
        "/incident/inc-00001/threads", data={"title": "pool", "assignee": "bob"}, follow_redirects=False
    )
    assert refused.status_code == 403
    made = dave.post(
        "/incident/inc-00001/threads",
        data={"title": "check the payments pool size", "assignee": "bob", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert made.status_code == 303
    alice = signed_in(estate, "alice")  # operator: may not assign
    a_csrf = csrf_of(alice.get("/incident/inc-00001").text)
    no = alice.post(
        "/incident/inc-00001/threads", data={"title": "x", "assignee": "alice", "csrf_token": a_csrf}
    )
    assert no.status_code == 403
    (thread,) = estate.runtime.threads.threads("inc-00001")
    assert (thread.title, thread.assignee, thread.created_by) == (
        "check the payments pool size",
        "bob",
        "dave",
    )
    no = alice.post(f"/incident/inc-00001/threads/{thread.id}", data={"status": "done", "csrf_token": a_csrf})
    assert no.status_code == 403  # not hers
    bob = signed_in(estate, "bob")
    b_csrf = csrf_of(bob.get("/incident/inc-00001").text)
    ok = bob.post(
        f"/incident/inc-00001/threads/{thread.id}",
        data={"status": "done", "note": "pool is 10, needs 40", "csrf_token": b_csrf},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = bob.get("/incident/inc-00001").text
    assert "pool is 10, needs 40" in page and "status-done" in page


def test_analytics_page_and_exports(estate: Any, incident_factory: Any, brief_factory: Any) -> None:
    estate.add(incident_factory(1), brief_factory())
    client = signed_in(estate, "carol")
    assert "Investigation quality" in client.get("/analytics").text
    body = client.get("/analytics.json").json()
    assert body["incidents"] == 1 and body["alert_to_brief"]["count"] == 1
    csv_text = client.get("/analytics.csv").text
    assert csv_text.splitlines()[0] == "metric,key,value" and "incidents,,1" in csv_text


def test_event_stream_sends_the_board_when_the_store_changes(
    estate: Any, incident_factory: Any, loopback: Any
) -> None:
    import threading

    import httpx

    estate.add(incident_factory(1))
    with loopback(estate.app) as url:
        client = httpx.Client(base_url=url)
        csrf = csrf_of(client.get("/login").text)
        client.post("/login", data={"username": "alice", "password": "alice-pw", "csrf_token": csrf})
        got: list[str] = []

        def add_later() -> None:
            import time

            time.sleep(1.5)
            estate.add(incident_factory(7, severity=Severity.CRITICAL, service="payments"))

        threading.Thread(target=add_later).start()
        with client.stream("GET", "/board/stream", timeout=15) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                got.append(line)
                if "inc-00007" in line:
                    break
        assert "event: board" in got and any("inc-00007" in line for line in got)


def test_actions_are_requested_and_approved_only_as_the_policy_allows(
    estate: Any, incident_factory: Any, brief_factory: Any
) -> None:
    estate.add(incident_factory(1), brief_factory())
    alice = signed_in(estate, "alice")  # L1 operator
    page = alice.get("/incident/inc-00001").text
    assert 'data-action="restart"' in page and 'name="param_namespace"' in page
    csrf = csrf_of(page)
    form = {"action": "restart", "service": "payments", "param_namespace": "shop", "csrf_token": csrf}
    assert alice.post("/incident/inc-00001/actions", data={**form, "csrf_token": "forged"}).status_code == 403
    made = alice.post("/incident/inc-00001/actions", data=form)
    assert made.status_code == 200 and "Requested restart on payments: pending" in made.text
    (request_id,) = re.findall(r'data-request="([^"]+)" data-status="pending"', made.text)
    sha = re.search(r'name="args_sha256" value="([0-9a-f]{64})"', made.text).group(1)
    # the requester holds neither the approval's role nor its tier, and may not approve her own request
    own = alice.post(
        f"/incident/inc-00001/actions/{request_id}/approve", data={"args_sha256": sha, "csrf_token": csrf}
    )
    assert own.status_code == 403 and "Refused" in own.text
    # rollback on payments needs L2: refused for an L1 operator, and audited
    rollback = {**form, "action": "rollback"}
    no = alice.post("/incident/inc-00001/actions", data=rollback)
    assert no.status_code == 403 and "needs L2" in no.text
    bob = signed_in(estate, "bob")  # L2 service-owner
    b_csrf = csrf_of(bob.get("/incident/inc-00001").text)
    ok = bob.post(
        f"/incident/inc-00001/actions/{request_id}/approve", data={"args_sha256": sha, "csrf_token": b_csrf}
    )
    assert ok.status_code == 200 and f"Approved {request_id}" in ok.text
    assert f'data-request="{request_id}" data-status="approved"' in ok.text
    events = [(e.actor, e.event) for e in estate.runtime.actions.ledger.entries()]
    assert ("alice", "request") in events and ("bob", "approve") in events
    assert [e for e in events if e == ("alice", "refuse")] == [("alice", "refuse")] * 2
    assert estate.runtime.actions.ledger.verify().is_intact
    assert "tl-audit" in ok.text  # the audit entries are on the incident's timeline


def test_analytics_read_confirmed_causes_from_the_knowledge_bank_and_first_brief_times(
    estate: Any, incident_factory: Any, brief_factory: Any
) -> None:
    from dataclasses import replace

    from missioncontrol.bootstrap import build_knowledge_bank
    from missioncontrol.domain import FaultKind, ServiceId
    from missioncontrol.domain.knowledge import Fingerprint, Resolution

    incident = incident_factory(1)
    first = brief_factory()
    estate.add(incident, first)
    estate.store.save_brief(replace(first, version=2, generated_at=first.generated_at + timedelta(minutes=5)))
    bank = build_knowledge_bank(estate.runtime.settings, estate.engine)
    bank.remember(
        Fingerprint(
            incident.id, incident.title, incident.symptom, ("HighLatency",), (), "", incident.opened_at
        )
    )
    resolved_at = incident.opened_at + timedelta(minutes=20)
    bank.record_resolution(
        Resolution(incident.id, ServiceId("payments"), FaultKind.CPU, "scaled payments", resolved_at, "bob")
    )
    estate.runtime.knowledge = bank
    client = signed_in(estate, "carol")
    body = client.get("/analytics.json").json()
    assert body["first_hypothesis_accuracy"] == 1.0 and body["rank_of_confirmed"] == [["1", 1]]
    assert body["alert_to_brief"]["max_s"] == 2.0  # received at +2 s, first brief at +4 s (not v2 at +5 min)
    assert body["alert_to_resolution"]["max_s"] == 20 * 60 - 2
    page = client.get("/incident/inc-00001").text
    assert "brief version 1 stored" in page and "brief version 2 stored" in page
