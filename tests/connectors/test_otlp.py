"""OTLP mapping: the official OTLP/JSON examples and bodies recorded from the OpenTelemetry Python SDK."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from missioncontrol.connectors.otlp import (
    OtlpDecodeError,
    decode_request,
    encode_response,
    parse_logs_json,
    parse_metrics_json,
    parse_traces_json,
    parse_traces_protobuf,
    to_otlp_json,
)
from missioncontrol.connectors.otlp.mapping import (
    exponential_quantile,
    level_of,
    parse_series_name,
    series_name,
)
from missioncontrol.domain import LogRecord, MetricSeries, ServiceId, Span, Telemetry

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "missioncontrol" / "connectors" / "otlp" / "samples"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def test_official_trace_example_decodes_hex_ids_and_service() -> None:
    telemetry, rejections = parse_traces_json(sample("example-traces.json"))
    assert rejections == []
    (span,) = telemetry.spans
    assert span.trace_id == "5b8efff798038103d269b633813fc60c"
    assert span.span_id == "eee19b7ec3c1b174"
    assert span.parent_span_id == "eee19b7ec3c1b173"
    assert span.service == "my.service"
    assert span.operation == "I'm a server span"
    assert span.duration_ns == 1_000_000_000
    assert span.is_error is False


def test_sdk_spans_keep_parentage_and_error_status() -> None:
    telemetry, rejections = parse_traces_json(sample("sdk-traces.json"))
    assert rejections == []
    by_name = {s.operation: s for s in telemetry.spans}
    root, child = by_name["POST /checkout"], by_name["charge card"]
    assert root.parent_span_id is None
    assert child.parent_span_id == root.span_id and child.trace_id == root.trace_id
    assert root.is_error is True and child.is_error is True  # status.code 2 = STATUS_CODE_ERROR
    assert {s.service for s in telemetry.spans} == {"checkout"}


@pytest.mark.parametrize("signal", ["traces", "logs", "metrics"])
def test_protobuf_body_and_its_json_twin_give_equal_telemetry(signal: str) -> None:
    from_pb, pb_rejections = decode_request(
        signal, (SAMPLES / f"sdk-{signal}.pb").read_bytes(), is_json=False
    )
    from_json, json_rejections = decode_request(
        signal, (SAMPLES / f"sdk-{signal}.json").read_bytes(), is_json=True
    )
    assert pb_rejections == json_rejections == []
    assert from_pb == from_json
    assert from_pb != Telemetry()


def test_official_log_example_maps_text_severity_and_trace_context() -> None:
    telemetry, rejections = parse_logs_json(sample("example-logs.json"))
    assert rejections == []
    (record,) = telemetry.logs
    assert record == LogRecord(
        timestamp=1544712660.3,
        service=ServiceId("my.service"),
        message="Example log record",
        level="INFO",  # severityText "Information"
        trace_id="5b8efff798038103d269b633813fc60c",
        span_id="eee19b7ec3c1b174",
    )


def test_sdk_logs_map_severity_numbers_to_levels() -> None:
    telemetry, _ = parse_logs_json(sample("sdk-logs.json"))
    levels = {r.message: r.level for r in telemetry.logs}
    assert levels == {
        "checkout started for cart c-1042": "INFO",
        "payment failed: upstream payments returned 503": "ERROR",
    }
    assert all(len(r.trace_id) == 32 and len(r.span_id) == 16 for r in telemetry.logs)


def test_a_bodiless_genai_evaluation_event_reads_as_its_name_and_outcome_on_both_encodings() -> None:
    """Recorded from the SDK's Logs API: `gen_ai.evaluation.result` events carry everything in attributes.

    A failing and a passing evaluation must be different lines (the miner then sees wrong answers
    surge); the free-text explanation and the response id must not be in them (every line would be
    its own template)."""
    from_json, json_rejections = decode_request(
        "logs", (SAMPLES / "sdk-genai-events.json").read_bytes(), is_json=True
    )
    from_pb, pb_rejections = decode_request(
        "logs", (SAMPLES / "sdk-genai-events.pb").read_bytes(), is_json=False
    )
    assert json_rejections == pb_rejections == [] and from_json == from_pb
    assert [r.message for r in from_json.logs] == [
        "gen_ai.evaluation.result gen_ai.evaluation.name=Relevance gen_ai.evaluation.score.label=pass "
        "gen_ai.evaluation.score.value=0.92",
        "gen_ai.evaluation.result gen_ai.evaluation.name=Relevance gen_ai.evaluation.score.label=fail "
        "gen_ai.evaluation.score.value=0.18",
    ]
    assert {r.service for r in from_json.logs} == {"assistant"}
    assert all(len(r.trace_id) == 32 and len(r.span_id) == 16 for r in from_json.logs)  # the graded answer


def test_an_event_named_by_attribute_and_a_record_with_a_body_keep_their_own_text() -> None:
    record = {"timeUnixNano": "1796266095100043416", "attributes": []}
    named = record | {
        "attributes": [
            {"key": "event.name", "value": {"stringValue": "feature_flag.evaluation"}},
            {"key": "feature_flag.key", "value": {"stringValue": "new-checkout"}},
            {"key": "feature_flag.result.variant", "value": {"stringValue": "on"}},
            {"key": "session.id", "value": {"stringValue": "s-81cfe2"}},
        ]
    }
    with_body = named | {"body": {"stringValue": "flag evaluated"}, "eventName": "feature_flag.evaluation"}
    plain = record | {"severityNumber": 9}
    payload = {"resourceLogs": [{"scopeLogs": [{"logRecords": [named, with_body, plain]}]}]}
    telemetry, rejections = parse_logs_json(payload)
    assert rejections == []
    assert [r.message for r in telemetry.logs] == [
        "feature_flag.evaluation feature_flag.key=new-checkout feature_flag.result.variant=on",
        "flag evaluated",
        "",
    ]


@pytest.mark.parametrize(
    ("number", "text", "level"),
    [
        (9, "", "INFO"),
        (13, "", "WARN"),
        (17, "whatever", "ERROR"),
        (24, "", "FATAL"),
        (0, "warning", "WARN"),
        (0, "Notice", "INFO"),
        (0, "audit", "AUDIT"),
        (0, "", ""),
    ],
)
def test_level_comes_from_the_number_else_the_text(number: int, text: str, level: str) -> None:
    assert level_of(number, text) == level


def test_official_metrics_example_keeps_sum_and_gauge_and_names_the_bad_histogram() -> None:
    telemetry, rejections = parse_metrics_json(sample("example-metrics.json"))
    names = {m.metric: m.values for m in telemetry.metrics}
    assert names == {
        'my.counter{my.counter.attr="some value"}': (5.0,),
        'my.gauge{my.gauge.attr="some value"}': (10.0,),
    }
    # The published example gives 3 bucket counts for 1 bound; a histogram needs bounds + 1.
    (rejection,) = rejections
    assert (
        rejection.where
        == "resourceMetrics[0].scopeMetrics[0].metrics[2].histogram.dataPoints[0].bucketCounts"
    )
    assert "3 entries for 1 explicitBounds" in rejection.reason


def test_sdk_histogram_becomes_count_sum_and_quantiles_within_min_and_max() -> None:
    telemetry, _ = parse_metrics_json(sample("sdk-metrics.json"))
    series = {m.metric: m.values[0] for m in telemetry.metrics}
    labels = '{http.request.method="POST",http.response.status_code="200"}'
    assert series[f"http.server.request.duration_count{labels}"] == 2.0
    assert series[f"http.server.request.duration_sum{labels}"] == pytest.approx(0.042)
    p50, p99 = (
        series[f"http.server.request.duration_p50{labels}"],
        series[f"http.server.request.duration_p99{labels}"],
    )
    assert 0.012 <= p50 <= p99 <= 0.030  # the recorded values were 0.012 s and 0.030 s
    assert series["http.server.active_requests"] == 2.0  # up-down counter: +3 then -1
    assert series['process.cpu.utilization{cpu.mode="user"}'] == 0.42


def test_one_bad_span_is_rejected_by_field_and_the_rest_are_kept() -> None:
    payload = sample("example-traces.json")
    spans = payload["resourceSpans"][0]["scopeSpans"][0]["spans"]
    good = spans[0]
    bad_id = {**good, "spanId": "not-hex"}
    backwards = {**good, "spanId": "00000000000000aa", "endTimeUnixNano": "1"}
    as_strings = {
        **good,
        "spanId": "00000000000000bb",
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712660500000000",
        "status": {"code": 2},
    }
    spans[:] = [good, bad_id, backwards, as_strings]
    telemetry, rejections = parse_traces_json(payload)
    assert [s.span_id for s in telemetry.spans] == ["eee19b7ec3c1b174", "00000000000000bb"]
    assert telemetry.spans[1].is_error is True and telemetry.spans[1].duration_ns == 500_000_000
    assert [r.where for r in rejections] == [
        "resourceSpans[0].scopeSpans[0].spans[1].spanId",
        "resourceSpans[0].scopeSpans[0].spans[2].endTimeUnixNano",
    ]
    assert "16 hex digits" in rejections[0].reason


def test_base64_ids_from_protobufs_generic_json_mapping_are_accepted() -> None:
    payload = sample("example-traces.json")
    span = payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["traceId"] = "W47/95gDgQPSabYzgT/GDA=="  # the same 16 bytes as 5B8EFFF7...
    span["spanId"] = "7uGbfsPBsXQ="
    telemetry, rejections = parse_traces_json(payload)
    assert rejections == []
    assert telemetry.spans[0].trace_id == "5b8efff798038103d269b633813fc60c"
    assert telemetry.spans[0].span_id == "eee19b7ec3c1b174"


def test_zero_trace_id_and_missing_timestamp_are_named() -> None:
    payload = sample("example-traces.json")
    span = payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["traceId"] = "0" * 32
    del span["startTimeUnixNano"]
    _, rejections = parse_traces_json(payload)
    assert rejections[0].where.endswith("spans[0].startTimeUnixNano")
    span["startTimeUnixNano"] = 1
    _, rejections = parse_traces_json(payload)
    assert rejections[0].where.endswith("spans[0].traceId") and "all zeros" in rejections[0].reason


def test_bad_protobuf_span_is_rejected_alone() -> None:
    request = ExportTraceServiceRequest()
    request.ParseFromString((SAMPLES / "sdk-traces.pb").read_bytes())
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b"\x01\x02"
    telemetry, rejections = parse_traces_protobuf(request.SerializeToString())
    assert len(telemetry.spans) == 1
    assert [r.where for r in rejections] == ["resourceSpans[0].scopeSpans[0].spans[0].traceId"]


@pytest.mark.parametrize(
    ("body", "is_json", "says"),
    [
        (b"\xff\xfe garbage", False, "not a protobuf ExportTraceServiceRequest"),
        (b"{not json", True, "not JSON"),
        (b"[1, 2]", True, "must be a JSON object"),
    ],
)
def test_undecodable_bodies_raise_with_a_message(body: bytes, is_json: bool, says: str) -> None:
    with pytest.raises(OtlpDecodeError, match=says):
        decode_request("traces", body, is_json=is_json)


def test_exponential_histogram_and_summary_give_quantiles() -> None:
    payload = {
        "resourceMetrics": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "cart"}}]},
                "scopeMetrics": [
                    {
                        "metrics": [
                            {
                                "name": "rpc.duration",
                                "exponentialHistogram": {
                                    "aggregationTemporality": 2,
                                    "dataPoints": [
                                        {
                                            "timeUnixNano": "1000000000",
                                            "count": "10",
                                            "sum": 30.0,
                                            "scale": 0,
                                            "zeroCount": "0",
                                            "positive": {"offset": 1, "bucketCounts": ["5", "5"]},
                                        }
                                    ],
                                },
                            },
                            {
                                "name": "gc.pause",
                                "summary": {
                                    "dataPoints": [
                                        {
                                            "timeUnixNano": "1000000000",
                                            "count": "4",
                                            "sum": 2.0,
                                            "quantileValues": [
                                                {"quantile": 0.5, "value": 0.4},
                                                {"quantile": 0.99, "value": 0.9},
                                            ],
                                        }
                                    ]
                                },
                            },
                        ]
                    }
                ],
            }
        ]
    }
    telemetry, rejections = parse_metrics_json(payload)
    assert rejections == []
    series = {m.metric: m.values[0] for m in telemetry.metrics}
    # Scale 0: bucket 1 holds (2, 4], bucket 2 holds (4, 8]; the median sits at the top of bucket 1.
    assert series["rpc.duration_p50"] == pytest.approx(4.0)
    assert 4.0 < series["rpc.duration_p99"] <= 8.0
    assert series["rpc.duration_count"] == 10.0
    assert series == {
        **series,
        "gc.pause_p50": 0.4,
        "gc.pause_p99": 0.9,
        "gc.pause_count": 4.0,
        "gc.pause_sum": 2.0,
    }


def test_exponential_quantile_orders_negative_buckets_first() -> None:
    value = exponential_quantile(0.25, scale=0, zero_count=0, positive=(0, [2]), negative=(0, [2]))
    assert value is not None and -2.0 <= value <= -1.0


def test_series_name_is_sorted_leaves_out_the_service_and_parses_back() -> None:
    name = series_name("http.requests", {"route": '/a"b', "method": "GET", "service.name": "x"})
    assert name == 'http.requests{method="GET",route="/a\\"b"}'
    assert parse_series_name(name) == ("http.requests", {"method": "GET", "route": '/a"b'})


def test_to_otlp_json_round_trips_through_the_parsers() -> None:
    telemetry = Telemetry(
        spans=(
            Span(
                "ab" * 16,
                "01" * 8,
                None,
                ServiceId("web"),
                "GET /",
                1_700_000_000_000_000_000,
                1_700_000_000_250_000_000,
                is_error=False,
            ),
            Span(
                "ab" * 16,
                "02" * 8,
                "01" * 8,
                ServiceId("db"),
                "SELECT",
                1_700_000_000_010_000_000,
                1_700_000_000_200_000_000,
                is_error=True,
            ),
        ),
        logs=(
            LogRecord(1_700_000_000.25, ServiceId("web"), "served", "INFO", "ab" * 16, "01" * 8),
            LogRecord(1_700_000_000.125, ServiceId("db"), "slow query", "NOTICE2"),
        ),
        metrics=(
            MetricSeries(
                ServiceId("web"), 'latency_p90{route="/"}', (1_700_000_000.0, 1_700_000_015.0), (0.2, 0.4)
            ),
            MetricSeries(ServiceId("web"), 'latency_p90{route="/x"}', (1_700_000_000.0,), (0.3,)),
            MetricSeries(ServiceId("db"), "cpu", (1_700_000_000.5,), (0.9,)),
        ),
    )
    bodies = json.loads(json.dumps(to_otlp_json(telemetry)))  # what goes over the wire
    spans, r1 = parse_traces_json(bodies["traces"])
    logs, r2 = parse_logs_json(bodies["logs"])
    metrics, r3 = parse_metrics_json(bodies["metrics"])
    assert r1 == r2 == r3 == []
    assert sorted(spans.spans, key=lambda s: s.span_id) == list(telemetry.spans)
    assert set(logs.logs) == set(telemetry.logs)
    assert set(metrics.metrics) == set(telemetry.metrics)


def test_to_otlp_json_leaves_out_empty_signals() -> None:
    assert to_otlp_json(Telemetry()) == {}


def test_responses_carry_partial_success_in_the_request_encoding() -> None:
    response = ExportTraceServiceResponse()
    response.ParseFromString(
        encode_response("traces", rejected=2, message="spans[1].spanId: bad", is_json=False)
    )
    assert response.partial_success.rejected_spans == 2
    assert response.partial_success.error_message == "spans[1].spanId: bad"
    assert json.loads(encode_response("logs", rejected=1, message="m", is_json=True)) == {
        "partialSuccess": {"rejectedLogRecords": "1", "errorMessage": "m"}
    }
    assert encode_response("metrics", rejected=0, message="", is_json=False) == b""
    assert json.loads(encode_response("metrics", rejected=0, message="", is_json=True)) == {}


def test_parsers_never_mutate_their_input() -> None:
    payload = sample("sdk-metrics.json")
    before = copy.deepcopy(payload)
    parse_metrics_json(payload)
    assert payload == before


def test_times_the_store_cannot_hold_are_rejected_by_field_not_failed_in_the_store() -> None:
    """Found by fuzzing the OTLP routes: a span ending after 2262 (past int64 nanoseconds) failed the
    whole append with OverflowError, a 503 telling the exporter to resend the same batch forever; a log
    time of 1e300 was stored as garbage."""
    late = str(2**64 - 1)
    traces = sample("example-traces.json")
    traces["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["endTimeUnixNano"] = late
    _, (rejection,) = parse_traces_json(traces)
    assert rejection.where.endswith("spans[0].endTimeUnixNano") and "2262-01-01" in rejection.reason
    logs = sample("example-logs.json")
    logs["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["timeUnixNano"] = 1e300
    telemetry, (rejection,) = parse_logs_json(logs)
    assert telemetry.logs == () and rejection.where.endswith("logRecords[0].timeUnixNano")
    metrics = sample("example-metrics.json")
    metrics["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]["dataPoints"][0][
        "timeUnixNano"
    ] = -5
    _, rejections = parse_metrics_json(metrics)
    assert (
        rejections[0].where.endswith("sum.dataPoints[0].timeUnixNano") and "negative" in rejections[0].reason
    )
    request = ExportTraceServiceRequest()
    request.ParseFromString((SAMPLES / "sdk-traces.pb").read_bytes())
    request.resource_spans[0].scope_spans[0].spans[0].end_time_unix_nano = 2**64 - 1  # uint64 on the wire
    telemetry, (rejection,) = parse_traces_protobuf(request.SerializeToString())
    assert len(telemetry.spans) == 1 and rejection.where.endswith("spans[0].endTimeUnixNano")
