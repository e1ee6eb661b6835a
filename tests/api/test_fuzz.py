"""Fuzzing the alert webhook over real HTTP: whatever arrives, never a server error."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.api.conftest import Live

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
TEXT = st.text(max_size=30)
ALERT = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["firing", "resolved", "pending", ""]) | JSON,
        "labels": st.dictionaries(
            st.sampled_from(["alertname", "service", "severity", "job"]) | TEXT, TEXT | JSON
        ),
        "annotations": st.dictionaries(TEXT, TEXT) | JSON,
        "startsAt": st.sampled_from(
            ["2026-12-02T09:00:00Z", "2026-12-02T09:00:00.123456789+02:00", "0001-01-01T00:00:00Z"]
        )
        | TEXT
        | JSON,
        "fingerprint": TEXT | JSON,
    },
)
PAYLOAD = (
    st.fixed_dictionaries(
        {},
        optional={
            "version": st.sampled_from(["4", "1"]) | JSON,
            "alerts": st.lists(ALERT, max_size=5) | JSON,
        },
    )
    | JSON
)


def test_alert_route_never_answers_with_a_server_error(live_sqlite: Live) -> None:
    live = live_sqlite
    seen: set[int] = set()

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(PAYLOAD, st.sampled_from(["alertmanager", "grafana"]))
    def post(payload: object, route: str) -> None:
        body = json.dumps(payload).encode()
        response = live.client.post(f"/api/v1/alerts/{route}", content=body)
        seen.add(response.status_code)
        assert response.status_code < 500, (response.status_code, response.text, body[:300])
        assert response.status_code in (200, 422), response.text

    post()
    assert seen == {200, 422}


@settings(max_examples=60, deadline=None, database=None)
@given(st.binary(max_size=200))
def test_alert_mapping_survives_any_bytes_decoded_as_json(raw: bytes) -> None:
    from datetime import UTC, datetime

    from missioncontrol.connectors.alertmanager import to_alerts

    try:
        payload = json.loads(raw)
    except ValueError:
        return
    alerts, problems = to_alerts(payload, received_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert len(alerts) + len(problems) >= 1 or (isinstance(payload, dict) and payload.get("alerts") == [])
