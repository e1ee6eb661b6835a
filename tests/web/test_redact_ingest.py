"""Secrets in alert text are redacted at ingestion: the stored alert and the API never hold them."""

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from missioncontrol.api.app import create_app
from missioncontrol.bootstrap import build_runtime
from missioncontrol.domain import Alert, AlertStatus, ServiceId, Severity
from missioncontrol.domain.redact import redact_alert
from missioncontrol.settings import Settings

SAMPLE = Path(__file__).resolve().parents[2] / "src/missioncontrol/connectors/alertmanager/samples"


def test_an_alert_annotation_with_a_secret_is_stored_redacted(tmp_path: Path) -> None:
    payload = json.loads((SAMPLE / "alertmanager-v4-firing.json").read_text())
    for alert in payload["alerts"]:
        alert["annotations"] = {
            "summary": "login failed password=hunter2canary token: ghp_abcdefghijklmnopqrstuvwxyz12"
        }
    runtime = build_runtime(Settings(state_dir=tmp_path, api_tokens=["t"]))
    with TestClient(create_app(runtime)) as client:
        answer = client.post(
            "/api/v1/alerts/alertmanager", json=payload, headers={"Authorization": "Bearer t"}
        )
        assert answer.status_code == 200 and answer.json()["accepted"] == len(payload["alerts"])
        listed = client.get("/api/v1/incidents", headers={"Authorization": "Bearer t"}).text
    with runtime.incidents.engine.connect() as conn:  # type: ignore[attr-defined]
        stored = [r[0] for r in conn.execute(text("SELECT summary FROM alerts"))]
    assert stored and all("[REDACTED]" in s for s in stored)
    everything = " ".join(stored) + listed
    assert "hunter2canary" not in everything and not re.search(r"ghp_[A-Za-z0-9]{20,}", everything)


def test_redaction_returns_a_clean_alert_itself_and_a_dirty_one_redacted() -> None:
    at = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    clean = Alert(
        fingerprint="f1",
        name="HighLatency",
        severity=Severity.CRITICAL,
        status=AlertStatus.FIRING,
        service=ServiceId("checkout"),
        signal="latency_p90",
        started_at=at,
        received_at=at,
        summary="p90 above 2 s",
        labels={"service": "checkout", "team": "payments"},
    )
    dirty = replace(clean, labels={**clean.labels, "dsn": "postgres://app:hunter2canary@db:5432/x"})

    assert redact_alert(clean) is clean
    redacted = redact_alert(dirty)
    assert "hunter2canary" not in redacted.labels["dsn"] and redacted.labels["team"] == "payments"
