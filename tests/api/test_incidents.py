"""Incidents and briefs over real HTTP: a new incident is investigated in the background and refreshed."""

from tests.api.conftest import Live
from tests.api.test_alerts import AM, am_alert, payload


def test_new_incident_gets_a_brief_that_is_refreshed_when_alerts_join(live: Live) -> None:
    live.client.post(AM, json=payload(am_alert("b1", "payments")))
    (incident,) = live.wait_for("the incident", lambda: live.client.get("/api/v1/incidents").json())  # type: ignore[misc]
    brief_url = f"/api/v1/incidents/{incident['id']}/brief"
    first = live.wait_for("the first brief", lambda: _brief(live, brief_url))
    assert first["version"] == 1 and first["incident_id"] == incident["id"]  # type: ignore[index]
    assert first["diagnosis"]["symptom"] == "payments"  # type: ignore[index]
    assert "1 alert(s) firing on payments" in first["impact"]["summary"]  # type: ignore[index]
    live.client.post(AM, json=payload(am_alert("b2", "payments", starts="2026-12-02T09:01:00Z")))
    second = live.wait_for("a refreshed brief", lambda: _brief(live, brief_url, at_least=2))
    assert "2 alert(s) firing on payments" in second["impact"]["summary"]  # type: ignore[index]
    detail = live.client.get(f"/api/v1/incidents/{incident['id']}").json()
    assert [g["rule"] for g in detail["grouping"]] == ["new", "same_service"]
    assert (len(detail["alerts"]), detail["alert_count"], detail["firing_count"]) == (2, 2, 2)
    digest = live.client.get(f"/api/v1/incidents/{incident['id']}", params={"digest": "true"}).json()
    assert [a["fingerprint"] for a in digest["alerts"]] == [detail["alerts"][0]["fingerprint"]]  # one series
    assert (digest["alert_count"], digest["firing_count"]) == (2, 2)
    assert [g["rule"] for g in digest["grouping"]] == ["new"]
    url = f"/api/v1/incidents/{incident['id']}/alerts"
    page = live.client.get(url, params={"limit": 1}).json()
    assert [a["fingerprint"] for a in page["alerts"]] == ["b1"] and page["alert_count"] == 2
    rest = live.client.get(url, params={"limit": 1, "after": page["next_after"]}).json()
    assert [a["fingerprint"] for a in rest["alerts"]] == ["b2"] and rest["next_after"] is None
    assert live.client.get("/api/v1/incidents/no-such/alerts").status_code == 404


def _brief(live: Live, url: str, *, at_least: int = 1) -> dict[str, object] | None:
    response = live.client.get(url)
    if response.status_code == 409:
        return None
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body if int(body["version"]) >= at_least else None  # type: ignore[call-overload]


def test_an_invalid_parameter_is_a_422_naming_it_in_the_documented_shape(live_sqlite: Live) -> None:
    """Found by the OpenAPI fuzz: the spec promised FastAPI's list of errors; the server sends ErrorOut."""
    live = live_sqlite
    response = live.client.get("/api/v1/incidents", params={"limit": 0})
    assert response.status_code == 422, response.text
    assert response.json() == {
        "detail": "query.limit: Input should be greater than or equal to 1",
        "errors": [],
    }
    spec = live.client.get("/openapi.json").json()
    documented = spec["paths"]["/api/v1/incidents"]["get"]["responses"]["422"]
    assert documented["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # no operation promises it


def test_an_alert_from_year_26_is_refused_by_name_and_grouping_goes_on(live_sqlite: Live) -> None:
    """Found by the OpenAPI fuzz: the alert was accepted, stored unpadded on SQLite ('26-05-24 ...'),
    and the grouping worker then failed to read the inbox on every pass: no incident ever again."""
    live = live_sqlite
    refused = live.client.post(AM, json=payload(am_alert("y26", "payments", starts="0026-05-24T02:17:16Z")))
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "alerts[0].startsAt"
    assert live.client.post(AM, json=payload(am_alert("y2026", "payments"))).status_code == 200
    live.wait_for("the incident", lambda: live.client.get("/api/v1/incidents").json())
