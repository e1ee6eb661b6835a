"""An AI component that answers 200 OK, on time, and wrong: seen through its evaluation events.

The assistant's latency, errors and CPU stay flat; only the `gen_ai.evaluation.result` events an
evaluator emits for its answers (OpenTelemetry GenAI semantic conventions, bodiless, as the SDK's Logs
API sends them) start failing. Mapped by the OTLP connector and diagnosed by the engine, that must
name the assistant with a wrong-output fault, and not the front end that raised the alert.
"""

import random
from datetime import UTC, datetime
from typing import Any

from missioncontrol.connectors.otlp import parse_logs_json
from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Case,
    FaultKind,
    MetricSeries,
    ServiceGraph,
    ServiceId,
    Severity,
    Span,
    Telemetry,
)
from missioncontrol.engine.diagnose import Engine

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC).timestamp()
FAULT_AT = T0 + 2400.0  # the assistant starts answering wrongly 40 minutes in
ALERT_AT = FAULT_AT + 120.0  # the front end's answer-quality alert fires two minutes later
END = ALERT_AT + 300.0
FRONTEND, ASSISTANT, CATALOG = ServiceId("frontend"), ServiceId("assistant"), ServiceId("catalog")


def _attr(key: str, value: Any) -> dict[str, Any]:
    kind = "doubleValue" if isinstance(value, float) else "stringValue"
    return {"key": key, "value": {kind: value}}


def _evaluation(at: float, trace_id: str, span_id: str, *, fails: bool, rng: random.Random) -> dict[str, Any]:
    score = rng.uniform(0.05, 0.3) if fails else rng.uniform(0.7, 0.99)
    return {
        "observedTimeUnixNano": str(int(at * 1e9)),
        "eventName": "gen_ai.evaluation.result",
        "traceId": trace_id,
        "spanId": span_id,
        "body": {},
        "attributes": [
            _attr("gen_ai.evaluation.name", "Relevance"),
            _attr("gen_ai.evaluation.score.value", round(score, 2)),
            _attr("gen_ai.evaluation.score.label", "fail" if fails else "pass"),
            _attr(
                "gen_ai.evaluation.explanation",
                "The answer " + ("misses" if fails else "meets") + " the ask.",
            ),
            _attr("gen_ai.response.id", f"chatcmpl-{rng.getrandbits(48):012x}"),
        ],
    }


def _case() -> Case:
    rng = random.Random(7)
    spans: list[Span] = []
    evaluations: list[dict[str, Any]] = []
    frontend_logs: list[dict[str, Any]] = []
    at = T0
    while at < END:
        trace = f"{rng.getrandbits(128):032x}"
        root, call, answer, lookup = (f"{rng.getrandbits(64):016x}" for _ in range(4))
        ns = int(at * 1e9)
        ms = 1_000_000
        wait = int(rng.uniform(80, 120) * ms)  # the assistant is as fast after the fault as before
        spans += [
            Span(trace, root, None, FRONTEND, "POST /ask", ns, ns + wait + 6 * ms),
            Span(trace, call, root, FRONTEND, "ask assistant", ns + ms, ns + wait + 5 * ms),
            Span(trace, answer, call, ASSISTANT, "chat gpt-4o", ns + 2 * ms, ns + wait + 4 * ms),
            Span(trace, lookup, answer, CATALOG, "GET /products", ns + 3 * ms, ns + 9 * ms),
        ]
        wrong = rng.random() < (0.45 if at >= FAULT_AT else 0.03)
        evaluations.append(_evaluation(at + wait / 1e9, trace, answer, fails=wrong, rng=rng))
        frontend_logs.append(
            {
                "timeUnixNano": str(ns),
                "severityNumber": 9,
                "body": {"stringValue": f"answered question {rng.getrandbits(32)} in {wait // ms} ms"},
                "traceId": trace,
                "spanId": root,
            }
        )
        at += rng.uniform(0.5, 1.5)
    payload = {
        "resourceLogs": [
            {
                "resource": {"attributes": [_attr("service.name", str(service))]},
                "scopeLogs": [{"logRecords": records}],
            }
            for service, records in ((ASSISTANT, evaluations), (FRONTEND, frontend_logs))
        ]
    }
    logs, rejections = parse_logs_json(payload)
    assert rejections == []
    stamps = tuple(T0 + 15.0 * i for i in range(int((END - T0) / 15.0)))
    metrics = tuple(
        MetricSeries(service, name, stamps, tuple(base + rng.gauss(0.0, base * 0.03) for _ in stamps))
        for service in (FRONTEND, ASSISTANT, CATALOG)
        for name, base in (("cpu_usage", 0.4), ("request_latency_p90_ms", 110.0), ("error_rate", 0.01))
    )
    alert = Alert(
        fingerprint="answer-quality",
        name="AnswerQualityLow",
        severity=Severity.WARNING,
        status=AlertStatus.FIRING,
        service=FRONTEND,
        signal="answer_quality",
        started_at=datetime.fromtimestamp(ALERT_AT, UTC),
        received_at=datetime.fromtimestamp(ALERT_AT + 1.0, UTC),
        summary="user-rated answer quality below 80 %",
        labels={"alertname": "AnswerQualityLow", "service": "frontend"},
    )
    return Case(
        id="genai-wrong-answers",
        system="assistant-estate",
        telemetry=Telemetry(metrics=metrics, logs=logs.logs, spans=tuple(spans)),
        graph=ServiceGraph.from_edges({(FRONTEND, ASSISTANT), (ASSISTANT, CATALOG)}),
        alert=alert,
    )


def test_failing_evaluations_of_a_fast_healthy_looking_assistant_name_it_with_wrong_output() -> None:
    diagnosis = Engine().diagnose(_case())
    top = diagnosis.hypotheses[0]
    assert (top.service, top.fault) == (ASSISTANT, FaultKind.WRONG_OUTPUT), diagnosis.hypotheses[:3]
    assert any("gen_ai.evaluation.score.label=fail" in e.summary for e in top.evidence), top.evidence
    assert top.path[0] == FRONTEND and top.path[-1] == ASSISTANT
