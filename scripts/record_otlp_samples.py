"""Record real OTLP/HTTP export bodies from the OpenTelemetry Python SDK into connectors/otlp/samples/.

Runs the SDK's OTLP/HTTP exporters (protobuf, the SDK's only HTTP encoding) against a loopback receiver
that keeps each body, then writes each body, byte for byte, as `sdk-<signal>.pb` and its OTLP/JSON
twin (hex ids, integer enums, lowerCamelCase, int64 as strings) as `sdk-<signal>.json`.
Run from the repository root:

    .venv/bin/python scripts/record_otlp_samples.py
"""

import base64
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import Observation
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

SAMPLES = Path(__file__).resolve().parents[1] / "src" / "missioncontrol" / "connectors" / "otlp" / "samples"
BODIES: dict[str, list[bytes]] = {"traces": [], "logs": [], "metrics": []}


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        BODIES[self.path.rsplit("/", 1)[-1]].append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _hex_ids(node: Any) -> Any:
    """Turn protobuf-JSON base64 ids into OTLP/JSON hex ids, everywhere in the tree."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                out[key] = base64.b64decode(value).hex()
            else:
                out[key] = _hex_ids(value)
        return out
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    resource = Resource.create(
        {"service.name": "checkout", "service.version": "2.4.1", "deployment.environment.name": "production"}
    )

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    tracer = tracer_provider.get_tracer("shop.checkout", "2.4.1")
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{url}/v1/logs"))
    )
    log = logging.getLogger("shop.checkout")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(LoggingHandler(logger_provider=logger_provider))
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{url}/v1/metrics"), export_interval_millis=60_000
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = meter_provider.get_meter("shop.checkout", "2.4.1")
    requests = meter.create_counter("http.server.requests", unit="{request}", description="Requests served")
    duration = meter.create_histogram(
        "http.server.request.duration", unit="s", description="Request duration"
    )
    in_flight = meter.create_up_down_counter("http.server.active_requests", unit="{request}")
    meter.create_observable_gauge(
        "process.cpu.utilization",
        callbacks=[lambda _options: [Observation(0.42, {"cpu.mode": "user"})]],
        unit="1",
    )

    with tracer.start_as_current_span("POST /checkout", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.request.method", "POST")
        log.info("checkout started for cart %s", "c-1042")
        with tracer.start_as_current_span("charge card", kind=SpanKind.CLIENT) as child:
            child.set_attribute("peer.service", "payments")
            time.sleep(0.002)
            child.set_status(Status(StatusCode.ERROR, "payments returned 503"))
            log.error("payment failed: upstream payments returned 503")
        root.set_status(Status(StatusCode.ERROR))
    for method, status, seconds in [
        ("POST", "200", 0.012),
        ("POST", "200", 0.030),
        ("POST", "503", 0.950),
        ("GET", "200", 0.004),
    ]:
        attrs = {"http.request.method": method, "http.response.status_code": status}
        requests.add(1, attrs)
        duration.record(seconds, attrs)
    in_flight.add(3)
    in_flight.add(-1)

    tracer_provider.shutdown()
    logger_provider.shutdown()
    meter_provider.shutdown()
    server.shutdown()

    kinds = {
        "traces": ExportTraceServiceRequest,
        "logs": ExportLogsServiceRequest,
        "metrics": ExportMetricsServiceRequest,
    }
    SAMPLES.mkdir(parents=True, exist_ok=True)
    for signal, bodies in BODIES.items():
        assert len(bodies) == 1, f"{signal}: expected one batched request, got {len(bodies)}"
        merged = kinds[signal]()
        merged.ParseFromString(bodies[0])
        data = bodies[0]
        (SAMPLES / f"sdk-{signal}.pb").write_bytes(data)  # byte for byte as the SDK sent it
        as_json = _hex_ids(MessageToDict(merged, use_integers_for_enums=True))
        (SAMPLES / f"sdk-{signal}.json").write_text(json.dumps(as_json, indent=2) + "\n")
        print(f"{signal}: {len(bodies)} request(s), {len(data)} bytes")  # noqa: T201 - a script


if __name__ == "__main__":
    main()
