"""Record a real OTLP/HTTP logs body carrying OpenTelemetry GenAI evaluation events, from the Python SDK.

An LLM-backed service (`assistant`) answers inside a server span, and an evaluator grades each answer
with a `gen_ai.evaluation.result` event (OpenTelemetry GenAI semantic conventions: event name,
`gen_ai.evaluation.name`, `gen_ai.evaluation.score.value`, `gen_ai.evaluation.score.label`,
`gen_ai.evaluation.explanation`, `gen_ai.response.id`), emitted through the SDK's Logs API with no body
and parented to the answer's span. The SDK's OTLP/HTTP exporter sends it to a loopback receiver; the
body is written byte for byte as `sdk-genai-events.pb` and its OTLP/JSON twin as
`sdk-genai-events.json` in connectors/otlp/samples/. Run from the repository root:

    .venv/bin/python scripts/record_genai_event_samples.py
"""

import json
import threading
from http.server import ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from record_otlp_samples import BODIES, SAMPLES, Receiver, _hex_ids

ANSWERS = [  # (evaluation label, score, the evaluator's explanation)
    ("pass", 0.92, "The answer addresses the refund question and cites the policy."),
    ("fail", 0.18, "The answer quotes a price for a product the customer did not ask about."),
]


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    resource = Resource.create({"service.name": "assistant", "service.version": "7.1.0"})
    tracer = TracerProvider(resource=resource).get_tracer("shop.assistant", "7.1.0")
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{url}/v1/logs"))
    )
    events = logger_provider.get_logger("shop.assistant.evaluation", "7.1.0")
    for n, (label, score, why) in enumerate(ANSWERS):
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as answer:
            answer.set_attribute("gen_ai.operation.name", "chat")
            events.emit(
                event_name="gen_ai.evaluation.result",
                attributes={
                    "gen_ai.evaluation.name": "Relevance",
                    "gen_ai.evaluation.score.value": score,
                    "gen_ai.evaluation.score.label": label,
                    "gen_ai.evaluation.explanation": why,
                    "gen_ai.response.id": f"chatcmpl-{n:04d}-7f3a9c2e",
                },
            )
    logger_provider.shutdown()
    server.shutdown()

    (body,) = BODIES["logs"]
    request = ExportLogsServiceRequest()
    request.ParseFromString(body)
    (SAMPLES / "sdk-genai-events.pb").write_bytes(body)  # byte for byte as the SDK sent it
    as_json = _hex_ids(MessageToDict(request, use_integers_for_enums=True))
    (SAMPLES / "sdk-genai-events.json").write_text(json.dumps(as_json, indent=2) + "\n")
    print(f"logs: {len(body)} bytes")  # noqa: T201 - a script


if __name__ == "__main__":
    main()
