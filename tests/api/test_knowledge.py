"""The knowledge routes over real HTTP on both databases: resolve, feedback, similar, priors, alert noise."""

import httpx
from tests.api.conftest import Live

AM = "/api/v1/alerts/alertmanager"


def fire(live: Live, fingerprint: str, service: str, starts: str) -> str:
    """Post one Alertmanager alert and return the incident it opened, once its brief is stored."""
    alert = {
        "status": "firing",
        "labels": {"alertname": "HighErrorRate", "service": service, "severity": "critical"},
        "annotations": {"summary": f"errors on {service}"},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }
    body = {"version": "4", "status": "firing", "receiver": "mc", "groupKey": "{}:{}", "alerts": [alert]}
    assert live.client.post(AM, json=body).status_code == 200

    def opened() -> str | None:
        for incident in live.client.get("/api/v1/incidents").json():
            detail = live.client.get(f"/api/v1/incidents/{incident['id']}").json()
            if any(a["fingerprint"] == fingerprint for a in detail["alerts"]):
                return str(incident["id"])
        return None

    incident_id = str(live.wait_for(f"an incident for {fingerprint}", opened))
    live.wait_for(
        "its brief", lambda: live.client.get(f"/api/v1/incidents/{incident_id}/brief").status_code == 200
    )
    return incident_id


def test_a_resolution_is_served_back_as_precedent_priors_and_alert_outcomes(live: Live) -> None:
    first = fire(live, "k1", "payments", "2026-12-02T03:00:00Z")
    resolved = live.client.post(
        f"/api/v1/incidents/{first}/resolve",
        json={
            "cause_service": "payments-db",
            "fault_kind": "memory",
            "fix": "raised the pool",
            "resolved_by": "ana",
        },
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["cause_fault"] == "memory" and resolved.json()["resolved_by"] == "ana"
    closed = live.client.get(f"/api/v1/incidents/{first}").json()
    assert closed["status"] == "resolved" and closed["resolved_at"] is not None
    closing = live.client.get(f"/api/v1/incidents/{first}/brief").json()
    assert closing["version"] >= 2
    note = "Resolved by ana: confirmed cause payments-db (memory); fix: raised the pool."
    assert closing["notes"][-1] == note
    second = fire(live, "k2", "payments", "2026-12-02T09:00:00Z")
    assert second != first
    similar = live.client.get(f"/api/v1/incidents/{second}/similar").json()
    assert [s["incident_id"] for s in similar] == [first]
    assert similar[0]["cause_service"] == "payments-db" and similar[0]["fix"] == "raised the pool"
    assert "HighErrorRate" in similar[0]["why_similar"]
    service = live.client.get("/api/v1/knowledge/services/payments-db").json()
    assert (service["caused"], service["faults"][0]["fault"]) == (1, "memory")
    alerts = live.client.get("/api/v1/knowledge/alerts").json()
    assert alerts == [
        {"alert": "HighErrorRate", "incidents": 1, "actionable": 1, "signal_to_noise": round(2 / 3, 4)}
    ]
    noise = live.client.post(f"/api/v1/incidents/{first}/resolve", json={"is_actionable": False})
    assert noise.status_code == 200 and noise.json()["cause_service"] is None
    assert live.client.get("/api/v1/knowledge/alerts").json()[0]["actionable"] == 0


def test_feedback_names_a_hypothesis_by_rank_or_by_service(live: Live) -> None:
    incident = fire(live, "k3", "checkout", "2026-12-02T05:00:00Z")
    by_service = live.client.post(
        f"/api/v1/incidents/{incident}/feedback",
        json={"verdict": "reject", "service": "checkout", "fault_kind": "latency", "note": "fine"},
    )
    assert by_service.status_code == 200, by_service.text
    assert by_service.json()["verdict"] == "reject" and by_service.json()["rank"] is None
    hypotheses = live.client.get(f"/api/v1/incidents/{incident}/brief").json()["diagnosis"]["hypotheses"]
    too_far = live.client.post(
        f"/api/v1/incidents/{incident}/feedback",
        json={"verdict": "confirm", "hypothesis": len(hypotheses) + 1},
    )
    assert too_far.status_code == 422
    assert f"the latest brief has {len(hypotheses)}" in too_far.json()["detail"]
    neither = live.client.post(f"/api/v1/incidents/{incident}/feedback", json={"verdict": "confirm"})
    assert neither.status_code == 422


def test_unknown_incidents_bad_bodies_and_anonymous_callers_are_refused(live: Live) -> None:
    assert (
        live.client.post("/api/v1/incidents/nope/resolve", json={"is_actionable": False}).status_code == 404
    )
    assert live.client.get("/api/v1/incidents/nope/similar").status_code == 404
    missing_cause = live.client.post("/api/v1/incidents/nope/resolve", json={"fix": "x"})
    assert missing_cause.status_code == 422 and "cause_service" in missing_cause.json()["detail"]
    bad_fault = live.client.post(
        "/api/v1/incidents/nope/resolve", json={"cause_service": "a", "fault_kind": "gremlins"}
    )
    assert bad_fault.status_code == 422
    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.get("/api/v1/knowledge/alerts").status_code == 401
        assert anonymous.post("/api/v1/incidents/x/resolve", json={"is_actionable": False}).status_code == 401
    paths = live.client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/incidents/{incident_id}/resolve", "/api/v1/knowledge/alerts"} <= set(paths)


def test_a_body_that_is_not_utf8_is_a_documented_400(live_sqlite: Live) -> None:
    """Found by the OpenAPI fuzz: FastAPI answers 400 before validation, and the spec did not say so."""
    live = live_sqlite
    for route in ("resolve", "feedback"):
        response = live.client.post(
            f"/api/v1/incidents/nope/{route}",
            content=b"\xff\xfe{",
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400 and response.json()["detail"], response.text
        documented = live.client.get("/openapi.json").json()["paths"][
            f"/api/v1/incidents/{{incident_id}}/{route}"
        ]
        assert "400" in documented["post"]["responses"]
