"""Ingest routes over real HTTP: the OpenTelemetry SDK's OTLP/HTTP exporters, OTLP/JSON, CDEvents, GitHub,
Backstage and PagerDuty, into the real stores (chDB telemetry, the SQL world model and alert inbox)."""

import gzip
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import Engine
from tests.api.conftest import TOKEN, Live, make_settings, serve_in_thread

from missioncontrol import bootstrap
from missioncontrol.domain import ServiceId, Telemetry
from missioncontrol.storage.telemetry import ChdbTelemetryStore
from missioncontrol.storage.world import SqlWorldModel

CONNECTORS = Path(__file__).resolve().parents[2] / "src" / "missioncontrol" / "connectors"
GITHUB_SECRET = "github-webhook-secret-for-tests"


@pytest.fixture
def live(db_engine: Engine, tmp_path: Path) -> Iterator[Live]:
    """A running server (embedded chDB telemetry under its state dir) with a GitHub webhook secret."""
    url = db_engine.url.render_as_string(hide_password=False)
    settings = make_settings(tmp_path, url, connectors={"github": {"webhook_secret": GITHUB_SECRET}})
    runtime = bootstrap.build_runtime(settings)
    if runtime.telemetry is None:  # bootstrap wires the embedded store under STATE_DIR once it can
        runtime.telemetry = ChdbTelemetryStore(settings.telemetry_path())
    server, thread, base = serve_in_thread(runtime)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
        yield Live(base, runtime, client)
    server.should_exit = True
    thread.join(timeout=30)
    if isinstance(runtime.telemetry, ChdbTelemetryStore):
        runtime.telemetry.close()  # one embedded chDB per process: free it for the next test


def _read_all(live: Live, service: str) -> Telemetry:
    assert live.runtime.telemetry is not None
    now = datetime.now(UTC)
    return live.runtime.telemetry.read(
        start=now - timedelta(hours=1), end=now + timedelta(minutes=1), services=[ServiceId(service)]
    )


@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_the_sdk_otlp_http_exporters_deliver_spans_logs_and_metrics_we_can_read_back(live: Live) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    resource = Resource.create({"service.name": "sdk-checkout"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"{live.url}/v1/traces", headers=headers, compression=Compression.Gzip)
        )
    )
    tracer = tracer_provider.get_tracer("test")
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{live.url}/v1/logs", headers=headers))
    )
    logger = logger_provider.get_logger("test")
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{live.url}/v1/metrics", headers=headers), export_interval_millis=60_000
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    duration = meter_provider.get_meter("test").create_histogram("http.server.request.duration", unit="s")
    try:
        for i in range(50):
            with tracer.start_as_current_span("GET /cart", kind=SpanKind.SERVER) as root:
                with tracer.start_as_current_span("SELECT cart", kind=SpanKind.CLIENT) as child:
                    if i == 7:
                        child.set_status(Status(StatusCode.ERROR))
                        logger.emit(
                            severity_number=SeverityNumber.ERROR,
                            severity_text="ERROR",
                            body=f"query failed {i}",
                        )
                root.set_attribute("i", i)
            duration.record(0.010 + i / 1000, {"http.route": "/cart"})
        logger.emit(severity_number=SeverityNumber.INFO, body="served 50 carts")
        logger.emit(  # an OpenTelemetry GenAI event: no body, everything in its attributes
            event_name="gen_ai.evaluation.result",
            attributes={"gen_ai.evaluation.name": "Relevance", "gen_ai.evaluation.score.label": "fail"},
        )
        assert tracer_provider.force_flush(10_000)
        assert logger_provider.force_flush(10_000)
        assert meter_provider.force_flush(10_000)
    finally:
        tracer_provider.shutdown()
        logger_provider.shutdown()
        meter_provider.shutdown()

    telemetry = _read_all(live, "sdk-checkout")
    spans = telemetry.spans
    assert len(spans) == 100
    assert sum(1 for s in spans if s.is_error) == 1
    roots = {s.span_id for s in spans if s.parent_span_id is None}
    assert len(roots) == 50 and all(s.parent_span_id in roots for s in spans if s.parent_span_id)
    levels = sorted(r.level for r in telemetry.logs)
    assert levels == ["", "ERROR", "INFO"]
    assert "gen_ai.evaluation.result gen_ai.evaluation.name=Relevance gen_ai.evaluation.score.label=fail" in {
        r.message for r in telemetry.logs
    }
    names = {m.metric for m in telemetry.metrics}
    assert 'http.server.request.duration_count{http.route="/cart"}' in names
    assert 'http.server.request.duration_p99{http.route="/cart"}' in names


@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_otlp_json_with_a_bad_span_answers_partial_success_in_json(live: Live) -> None:
    payload = json.loads((CONNECTORS / "otlp" / "samples" / "example-traces.json").read_text())
    spans = payload["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[0]["startTimeUnixNano"] = spans[0]["endTimeUnixNano"] = str(time.time_ns())
    payload["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"] = "json-sender"
    spans.append({**spans[0], "spanId": "zz"})
    body = gzip.compress(json.dumps(payload).encode())
    response = live.client.post(
        "/v1/traces", content=body, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "resourceSpans[0].scopeSpans[0].spans[1].spanId" in partial["errorMessage"]
    assert [s.span_id for s in _read_all(live, "json-sender").spans] == ["eee19b7ec3c1b174"]


@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_otlp_protobuf_answers_in_protobuf_and_refuses_what_it_cannot_read(live: Live) -> None:
    request = ExportTraceServiceRequest()
    request.ParseFromString((CONNECTORS / "otlp" / "samples" / "sdk-traces.pb").read_bytes())
    request.resource_spans[0].scope_spans[0].spans[0].span_id = b"\x01"
    pb = {"Content-Type": "application/x-protobuf"}
    response = live.client.post("/v1/traces", content=request.SerializeToString(), headers=pb)
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse()
    answer.ParseFromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert "spans[0].spanId" in answer.partial_success.error_message

    garbage = live.client.post("/v1/traces", content=b"\xff\xff\xff not protobuf", headers=pb)
    assert garbage.status_code == 400 and b"not a protobuf ExportTraceServiceRequest" in garbage.content
    wrong_type = live.client.post("/v1/logs", content=b"hello", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415 and "application/x-protobuf" in wrong_type.json()["message"]
    zstd = live.client.post("/v1/metrics", content=b"x", headers={**pb, "Content-Encoding": "zstd"})
    assert zstd.status_code == 415
    anonymous = httpx.post(f"{live.url}/v1/traces", content=b"", headers=pb)
    assert anonymous.status_code == 401


def test_cdevents_are_recorded_once_and_read_back_from_the_change_log(live: Live) -> None:
    event = json.loads((CONNECTORS / "cdevents" / "samples" / "service_deployed-v0.4.json").read_text())
    first = live.client.post("/api/v1/changes/cdevents", json=event)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 1, "recorded": 1, "rejected": 0, "errors": []}
    again = live.client.post("/api/v1/changes/cdevents", json=[event, {"context": {}}])
    assert again.json()["recorded"] == 0 and again.json()["rejected"] == 1
    assert again.json()["errors"][0]["where"] == "[1].subject"
    assert live.client.post("/api/v1/changes/cdevents", json={"nope": 1}).status_code == 422
    assert live.client.post("/api/v1/changes/cdevents", content=b"{").status_code == 400
    world = live.runtime.changes  # the change log is the world model's write side
    assert isinstance(world, SqlWorldModel)
    recorded = world.changes_between(datetime(2023, 3, 20, tzinfo=UTC), datetime(2023, 3, 21, tzinfo=UTC))
    assert [(c.service, c.description[:20]) for c in recorded] == [("mySubject123", "Deployed myapp@sha25")]


def _github(live: Live, event: str, body: bytes, *, secret: str | None) -> httpx.Response:
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = (
            "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        )
    # GitHub sends no bearer token: the signature alone must authenticate it.
    return httpx.post(f"{live.url}/api/v1/changes/github", content=body, headers=headers)


def test_github_deliveries_are_authenticated_by_their_signature(live: Live) -> None:
    body = (CONNECTORS / "github" / "samples" / "deployment_status-success.json").read_bytes()
    signed = _github(live, "deployment_status", body, secret=GITHUB_SECRET)
    assert signed.status_code == 200, signed.text
    assert signed.json()["recorded"] == 1
    assert _github(live, "deployment_status", body, secret="wrong").status_code == 401
    assert _github(live, "deployment_status", body, secret=None).status_code == 401
    assert _github(live, "ping", b'{"zen": "Keep it logically awesome."}', secret=GITHUB_SECRET).json() == {
        "received": 0,
        "recorded": 0,
        "rejected": 0,
        "errors": [],
    }
    with_bearer = live.client.post(
        "/api/v1/changes/github", content=body, headers={"X-GitHub-Event": "deployment_status"}
    )
    assert with_bearer.status_code == 200 and with_bearer.json()["recorded"] == 0  # already known


def test_backstage_yaml_is_recorded_and_the_owner_readable_as_of_now(live: Live) -> None:
    text = (CONNECTORS / "backstage" / "samples" / "catalog-info.yaml").read_bytes()
    response = live.client.post(
        "/api/v1/catalog/backstage", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["entries"], body["teams"], body["rejected"], len(body["notes"])) == (2, 1, 0, 2)
    catalog = live.runtime.catalog
    assert isinstance(catalog, SqlWorldModel)
    entry = catalog.catalog_entry(ServiceId("artist-web"), at=datetime.now(UTC))
    assert entry is not None and entry.owner == "team-b" and entry.tier == "1"
    team = catalog.team("team-b")
    assert team is not None and team.pagerduty_service == "PABC123"
    bad_type = live.client.post(
        "/api/v1/catalog/backstage", content=text, headers={"Content-Type": "image/png"}
    )
    assert bad_type.status_code == 415
    not_yaml = live.client.post(
        "/api/v1/catalog/backstage",
        content=b"kind: Component\n  bad: : x\n",
        headers={"Content-Type": "text/yaml"},
    )
    assert not_yaml.status_code == 400 and "line 2" in not_yaml.json()["detail"]


def test_pagerduty_events_are_accepted_as_alerts(live: Live) -> None:
    trigger = json.loads((CONNECTORS / "pagerduty" / "samples" / "trigger.json").read_text())
    response = live.client.post("/api/v1/alerts/pagerduty", json=trigger)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    resolve = json.loads((CONNECTORS / "pagerduty" / "samples" / "resolve.json").read_text())
    assert live.client.post("/api/v1/alerts/pagerduty", json=resolve).json()["accepted"] == 1
    bad = live.client.post("/api/v1/alerts/pagerduty", json={"event_action": "trigger"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "routing_key"


@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_routes_that_read_their_body_raw_document_it(live: Live) -> None:
    """Found by the OpenAPI fuzz: with no requestBody in the spec, generated requests sent none at all."""
    paths = live.client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/changes/cdevents", "/api/v1/changes/github", "/api/v1/alerts/pagerduty"):
        body = paths[path]["post"]["requestBody"]
        assert body["required"] and "application/json" in body["content"], path
    github = {p["name"]: p for p in paths["/api/v1/changes/github"]["post"]["parameters"]}
    assert github["X-GitHub-Event"]["required"] and github["X-GitHub-Event"]["in"] == "header"
    assert github["X-GitHub-Event"]["schema"]["enum"] == ["deployment", "deployment_status", "ping"]
    empty = live.client.post("/api/v1/changes/github", json={}, headers={"X-GitHub-Event": ""})
    assert empty.status_code == 400 and "X-GitHub-Event" in empty.json()["detail"]


@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_a_span_ending_after_2262_is_a_partial_success_not_a_503_to_retry_forever(live: Live) -> None:
    body = json.loads((CONNECTORS / "otlp" / "samples" / "example-traces.json").read_text())
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["endTimeUnixNano"] = str(2**64 - 1)
    response = live.client.post("/v1/traces", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "endTimeUnixNano" in response.json()["partialSuccess"]["errorMessage"]
