"""Alert webhooks over real HTTP on both databases: durable acceptance, dedup, errors, auth, overload."""

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine, text
from tests.api.conftest import HMAC_SECRET, TOKEN, Live, make_settings, serve_in_thread

from missioncontrol import bootstrap
from missioncontrol.connectors.alertmanager import SAMPLES
from missioncontrol.domain import IncidentStatus
from missioncontrol.storage.incidents import SqlIncidentStore

AM = "/api/v1/alerts/alertmanager"


def payload(*alerts: dict[str, object]) -> dict[str, object]:
    return {"version": "4", "status": "firing", "receiver": "mc", "groupKey": "{}:{}", "alerts": list(alerts)}


def am_alert(
    fp: str, service: str = "payments", *, starts: str = "2026-12-02T09:00:00Z", **extra: object
) -> dict[str, object]:
    body: dict[str, object] = {
        "status": "firing",
        "labels": {"alertname": "HighErrorRate", "service": service, "severity": "critical"},
        "annotations": {"summary": f"errors on {service}"},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fp,
    }
    body.update(extra)
    return body


def store_of(live: Live) -> SqlIncidentStore:
    store = live.runtime.incidents
    assert isinstance(store, SqlIncidentStore)
    return store


def test_accepted_alerts_are_committed_before_the_answer_and_open_an_incident(live: Live) -> None:
    sample = (SAMPLES / "alertmanager-v4-firing.json").read_bytes()
    response = live.client.post(AM, content=sample, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "rejected": 0, "errors": []}
    assert store_of(live).count_alerts() == 1  # committed before the 200, not eventually
    incidents = live.wait_for("the incident", lambda: live.client.get("/api/v1/incidents").json())
    assert incidents[0]["symptom"] == "frontend" and incidents[0]["status"] == "open"
    detail = live.client.get(f"/api/v1/incidents/{incidents[0]['id']}").json()
    assert detail["alerts"][0]["fingerprint"] == "1a30ba71cca2921f"
    assert detail["grouping"][0]["rule"] == "new"


def test_resent_batch_creates_no_duplicate_alert_or_incident(live: Live) -> None:
    body = payload(am_alert("f1"), am_alert("f2", "checkout"))
    for _ in range(3):
        assert live.client.post(AM, json=body).json()["accepted"] == 2
    assert store_of(live).count_alerts() == 2
    live.wait_for("grouping", lambda: not store_of(live).unprocessed_alerts(limit=5))
    assert live.client.post(AM, json=body).status_code == 200
    live.wait_for("grouping", lambda: not store_of(live).unprocessed_alerts(limit=5))
    incidents = live.client.get("/api/v1/incidents").json()
    assert [i["alert_count"] for i in incidents] == [1, 1]


def test_resolution_updates_the_alert_and_closes_the_incident(live: Live) -> None:
    live.client.post(AM, json=payload(am_alert("r1")))
    live.wait_for("the incident", lambda: live.client.get("/api/v1/incidents").json())
    live.client.post(AM, json=payload(am_alert("r1", status="resolved")))
    resolved = live.wait_for(
        "the incident to resolve",
        lambda: live.client.get("/api/v1/incidents", params={"status": "resolved"}).json(),
    )
    assert resolved[0]["alert_count"] == 1  # type: ignore[index]
    assert store_of(live).count_alerts() == 1


def test_one_bad_alert_never_drops_the_rest_of_its_batch(live: Live) -> None:
    body = payload(am_alert("good"), am_alert("bad", starts="yesterday"), {"labels": "x"})
    response = live.client.post(AM, json=body)
    assert response.status_code == 200
    result = response.json()
    assert result["accepted"] == 1 and result["rejected"] == 2
    assert [(e["index"], e["field"]) for e in result["errors"]] == [
        (1, "alerts[1].startsAt"),
        (2, "alerts[2].labels"),
    ]
    assert store_of(live).count_alerts() == 1


def test_bad_input_gets_400_413_422_naming_what_was_wrong(live: Live) -> None:
    not_json = live.client.post(AM, content=b"{nope", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["detail"]
    huge = live.client.post(AM, content=b"x" * (live.runtime.settings.max_body_bytes + 1))
    assert huge.status_code == 413 and "over the limit of 1048576 bytes" in huge.json()["detail"]
    no_alerts = live.client.post(AM, json={"version": "4"})
    assert no_alerts.status_code == 422 and no_alerts.json()["errors"][0]["field"] == "alerts"
    no_name = live.client.post(AM, json=payload({"labels": {}, "startsAt": "2026-12-02T09:00:00Z"}))
    assert no_name.status_code == 422
    assert no_name.json()["errors"][0]["field"] == "alerts[0].labels.alertname"
    bad_version = live.client.post(AM, json={"version": "3", "alerts": []})
    assert bad_version.status_code == 422 and "version" in bad_version.json()["errors"][0]["field"]
    bad_query = live.client.get("/api/v1/incidents", params={"limit": 0})
    assert bad_query.status_code == 422 and "limit" in bad_query.json()["detail"]


def test_grafana_variant_is_accepted_on_its_route(live: Live) -> None:
    sample = (SAMPLES / "grafana-firing.json").read_bytes()
    response = live.client.post("/api/v1/alerts/grafana", content=sample)
    assert response.json()["accepted"] == 2


def signed(body: bytes, *, at: int, secret: str = HMAC_SECRET) -> str:
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def test_every_route_refuses_callers_without_valid_credentials(live: Live) -> None:
    body = json.dumps(payload(am_alert("auth"))).encode()
    with httpx.Client(base_url=live.url, timeout=10) as anonymous:
        _refuse_and_admit(live, anonymous, body)


def _refuse_and_admit(live: Live, anonymous: httpx.Client, body: bytes) -> None:
    denied = {
        "no credentials": {},
        "wrong token": {"Authorization": "Bearer nope"},
        "wrong scheme": {"Authorization": f"Basic {TOKEN}"},
        "bad signature": {"X-MissionControl-Signature": signed(body, at=int(time.time()), secret="other")},
        "replayed signature": {"X-MissionControl-Signature": signed(body, at=int(time.time()) - 3600)},
        "malformed signature": {"X-MissionControl-Signature": "v1=abc"},
    }
    for why, headers in denied.items():
        response = anonymous.post(AM, content=body, headers=headers)
        assert response.status_code == 401, why
        assert TOKEN not in response.text and HMAC_SECRET not in response.text
    assert anonymous.get("/api/v1/incidents").status_code == 401
    assert anonymous.get("/api/v1/incidents/x/brief").status_code == 401
    assert store_of(live).count_alerts() == 0
    ok = anonymous.post(
        AM, content=body, headers={"X-MissionControl-Signature": signed(body, at=int(time.time()))}
    )
    assert ok.status_code == 200 and ok.json()["accepted"] == 1
    assert anonymous.get("/healthz").json() == {"status": "ok"}


def test_unknown_incident_is_404_and_openapi_documents_the_routes(live: Live) -> None:
    assert live.client.get("/api/v1/incidents/nope").status_code == 404
    assert live.client.get("/api/v1/incidents/nope/brief").status_code == 404
    spec = live.client.get("/openapi.json").json()
    for path in (AM, "/api/v1/alerts/grafana", "/api/v1/incidents", "/api/v1/incidents/{incident_id}/brief"):
        assert path in spec["paths"]
    assert spec["paths"][AM]["post"]["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "alerts"
    ]


def test_overload_sheds_with_503_and_retry_after_and_loses_nothing_accepted(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    runtime = bootstrap.build_runtime(make_settings(tmp_path, f"sqlite:///{db}", ingest_queue_alerts=1))
    server, thread, base = serve_in_thread(runtime)
    blocker: Engine = __import__("sqlalchemy").create_engine(f"sqlite:///{db}", connect_args={"timeout": 60})
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
            held = blocker.connect()
            held.exec_driver_sql("BEGIN IMMEDIATE")  # the writer now waits for this lock
            import concurrent.futures

            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                first = pool.submit(client.post, AM, json=payload(am_alert("held")))
                deadline = time.monotonic() + 10
                while runtime.inbox.pending == 0 and time.monotonic() < deadline:  # type: ignore[attr-defined]
                    time.sleep(0.01)
                shed = client.post(AM, json=payload(am_alert("shed")))
                assert shed.status_code == 503, shed.text
                assert int(shed.headers["Retry-After"]) >= 1
                held.exec_driver_sql("ROLLBACK")
                held.close()
                assert first.result(timeout=30).status_code == 200
        with blocker.connect() as conn:
            rows = conn.execute(text("SELECT fingerprint FROM alerts")).scalars().all()
        assert "held" in rows and "shed" not in rows
    finally:
        blocker.dispose()
        server.should_exit = True
        thread.join(timeout=30)
    assert runtime.incidents.incidents(status=IncidentStatus.OPEN) is not None
