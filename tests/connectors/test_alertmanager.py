"""Alertmanager and Grafana webhooks: mapping on the recorded samples, and the real Alertmanager binary."""

import json
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import TOKEN, make_settings, serve_in_thread

from missioncontrol import bootstrap
from missioncontrol.connectors.alertmanager import SAMPLES, parse_rfc3339, to_alerts
from missioncontrol.domain import AlertStatus, Severity
from missioncontrol.storage.incidents import SqlIncidentStore

RECEIVED = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def sample(name: str) -> object:
    return json.loads((SAMPLES / name).read_text())


def test_alertmanager_v4_sample_maps_every_field_we_use() -> None:
    (alert,), problems = to_alerts(sample("alertmanager-v4-firing.json"), received_at=RECEIVED)
    assert problems == []
    assert alert.fingerprint == "1a30ba71cca2921f" and alert.name == "ProbeFailure"
    assert alert.severity is Severity.CRITICAL and alert.status is AlertStatus.FIRING
    assert alert.service == "frontend" and alert.signal == "ProbeFailure"
    assert alert.started_at == datetime(2023, 2, 6, 13, 8, 45, 828000, tzinfo=UTC)
    assert alert.received_at == RECEIVED
    assert alert.summary == "BlackBox Probe Failure: https://shop.example.org"
    assert alert.labels["instance"] == "https://shop.example.org"


def test_resolved_sample_with_nanoseconds_offset_and_no_fingerprint() -> None:
    (alert,), problems = to_alerts(sample("alertmanager-v4-resolved.json"), received_at=RECEIVED)
    assert problems == [] and alert.status is AlertStatus.RESOLVED
    assert alert.started_at == datetime(2018, 8, 3, 7, 52, 26, 739266, tzinfo=UTC)
    assert alert.service == "prometheus24"  # from `job`, the last service label we look at
    again, _ = to_alerts(sample("alertmanager-v4-resolved.json"), received_at=RECEIVED)
    assert again[0].fingerprint == alert.fingerprint and len(alert.fingerprint) == 16


def test_grafana_variant_is_read_by_the_same_parser() -> None:
    alerts, problems = to_alerts(sample("grafana-firing.json"), received_at=RECEIVED)
    assert problems == []
    assert [a.fingerprint for a in alerts] == ["c6eadffa33fcdf37", "bc97ff14869b13e3"]
    assert alerts[0].name == "High memory usage" and alerts[0].service is None
    assert alerts[0].severity is Severity.UNKNOWN
    assert alerts[1].summary == "This alert was triggered for zone eu-1"


def test_each_bad_alert_is_named_by_index_and_field_and_the_rest_map() -> None:
    payload = sample("alertmanager-v4-firing.json")
    assert isinstance(payload, dict)
    good = payload["alerts"][0]
    payload["alerts"] = [
        {**good, "startsAt": "2023-02-06 13:08"},
        good,
        {**good, "labels": {"alertname": ""}},
        {**good, "status": "pending"},
        {**good, "labels": {"alertname": "X", "n": 3}},
        "nope",
    ]
    alerts, problems = to_alerts(payload, received_at=RECEIVED)
    assert len(alerts) == 1
    assert [(p.index, p.field) for p in problems] == [
        (0, "alerts[0].startsAt"),
        (2, "alerts[2].labels.alertname"),
        (3, "alerts[3].status"),
        (4, "alerts[4].labels.n"),
        (5, "alerts[5]"),
    ]
    assert "RFC 3339" in problems[0].message


def test_a_status_that_is_not_a_string_is_one_bad_alert_not_a_failed_batch() -> None:
    """A list or object as `status` raised TypeError (unhashable) out of the mapping: a 500 for the
    whole batch instead of one problem naming the field."""
    payload = sample("alertmanager-v4-firing.json")
    assert isinstance(payload, dict)
    good = payload["alerts"][0]
    payload["alerts"] = [{**good, "status": ["firing"]}, {**good, "status": {"a": 1}}, good]
    alerts, problems = to_alerts(payload, received_at=RECEIVED)
    assert len(alerts) == 1
    assert [(p.index, p.field) for p in problems] == [(0, "alerts[0].status"), (1, "alerts[1].status")]


@pytest.mark.parametrize(
    ("payload", "field"),
    [([], "$"), ({"version": "5", "alerts": []}, "version"), ({"alerts": "x"}, "alerts"), ({}, "alerts")],
)
def test_payload_level_problems_name_the_field(payload: object, field: str) -> None:
    alerts, problems = to_alerts(payload, received_at=RECEIVED)
    assert alerts == [] and [p.field for p in problems] == [field] and problems[0].index is None


def test_rfc3339_parser_takes_what_go_writes() -> None:
    assert parse_rfc3339("2026-12-02T09:00:00.123456789Z") == datetime(
        2026, 12, 2, 9, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_rfc3339("2026-12-02T10:00:00+01:00") == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_rfc3339("2026-12-02")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@pytest.mark.skipif(
    ALERTMANAGER is None, reason="Debian prometheus-alertmanager not installed (scripts/system-deps.sh)"
)
def test_real_alertmanager_delivers_a_posted_alert_to_our_api(tmp_path: Path) -> None:
    runtime = bootstrap.build_runtime(make_settings(tmp_path, f"sqlite:///{tmp_path / 'state.db'}"))
    server, thread, base = serve_in_thread(runtime)
    am_port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        f"""
route:
  receiver: missioncontrol
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: missioncontrol
    webhook_configs:
      - url: {base}/api/v1/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {TOKEN}
"""
    )
    proc = subprocess.Popen(
        [
            str(ALERTMANAGER),
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    store = runtime.incidents
    assert isinstance(store, SqlIncidentStore)
    try:
        am = f"http://127.0.0.1:{am_port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{am}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "alertmanager did not become ready in 20 s"
            assert proc.poll() is None, f"alertmanager exited: {proc.stderr.read() if proc.stderr else ''}"
            time.sleep(0.1)
        started = datetime.now(UTC).replace(microsecond=0)
        alert = {
            "labels": {"alertname": "CheckoutErrors", "service": "checkout", "severity": "critical"},
            "annotations": {"summary": "checkout 5xx above 2 %"},
            "startsAt": started.isoformat().replace("+00:00", "Z"),
            "generatorURL": "http://prometheus.example.org/graph",
        }
        assert httpx.post(f"{am}/api/v2/alerts", json=[alert], timeout=5).status_code == 200
        deadline = time.monotonic() + 20
        while store.count_alerts() == 0:
            assert time.monotonic() < deadline, "alertmanager's webhook never reached our API in 20 s"
            time.sleep(0.1)
        (stored,) = store.unprocessed_alerts(limit=5) or store.incidents()[0].alerts
        assert stored.name == "CheckoutErrors" and stored.service == "checkout"
        assert stored.severity is Severity.CRITICAL and stored.started_at == started
        assert len(stored.fingerprint) == 16  # Alertmanager's own fingerprint, sent in the webhook
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
        server.should_exit = True
        thread.join(timeout=30)


@pytest.mark.parametrize(
    "starts",
    [
        "0026-05-24T02:17:16Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "2300-01-01T00:00:00Z",
    ],
)
def test_a_start_no_store_can_hold_is_refused_by_name(starts: str) -> None:
    """Found by the OpenAPI fuzz: year 26 was stored unpadded on SQLite ('26-05-24 ...') and the grouping
    worker then failed to read the inbox on every pass; year 1 at +14:00 raised OverflowError."""
    raw = {"status": "firing", "labels": {"alertname": "A"}, "startsAt": starts}
    alerts, (problem,) = to_alerts({"version": "4", "alerts": [raw]}, received_at=RECEIVED)
    assert alerts == [] and problem.field == "alerts[0].startsAt" and "1970..2299" in problem.message
    assert parse_rfc3339("1970-01-01T00:00:00Z").year == 1970
