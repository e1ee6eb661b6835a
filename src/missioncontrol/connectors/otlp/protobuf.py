"""Decode OTLP protobuf export requests with the generated `opentelemetry-proto` classes and map them.

The walk mirrors `mapping.py` field for field and feeds the same tables and series builder, so a
protobuf body and its OTLP/JSON twin give equal telemetry. Rejections name fields by their OTLP/JSON
names (`resourceSpans[0].scopeSpans[0].spans[3].traceId`) whatever the encoding.
"""

from typing import Any

from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsPartialSuccess,
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from missioncontrol.connectors.otlp.mapping import (
    FLAG_NO_RECORDED_VALUE,
    MAX_NANOS,
    QUANTILES,
    SERVICE_ATTRIBUTE,
    STATUS_CODE_ERROR,
    TOO_LATE,
    UNKNOWN_SERVICE,
    SeriesBuilder,
    add_distribution,
    bodiless_text,
    explicit_quantile,
    exponential_quantile,
    level_of,
    nanos_to_seconds,
    series_name,
)
from missioncontrol.domain import LogRecord, MissionControlError, ServiceId, Span, Telemetry
from missioncontrol.domain.rejections import Rejection


class OtlpDecodeError(MissionControlError):
    """The body is not an OTLP export request at all (bad protobuf, bad JSON, wrong shape)."""


_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


def _decode(message: Message, body: bytes, what: str) -> None:
    try:
        message.ParseFromString(body)
    except DecodeError as error:
        raise OtlpDecodeError(f"body is not a protobuf {what}: {error}") from None


def _text(value: AnyValue) -> str:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind is None:
        return ""
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return repr(value.double_value)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    if kind == "array_value":
        return "[" + ",".join(_text(v) for v in value.array_value.values) + "]"
    return "{" + ",".join(f"{kv.key}={_text(kv.value)}" for kv in value.kvlist_value.values) + "}"


def _labels(attributes: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    kv: KeyValue
    for kv in attributes:
        out[kv.key] = _text(kv.value)
    return out


def _service(resource: Resource) -> ServiceId:
    for kv in resource.attributes:
        if kv.key == SERVICE_ATTRIBUTE:
            name = _text(kv.value)
            return ServiceId(name) if name else UNKNOWN_SERVICE
    return UNKNOWN_SERVICE


def parse_traces_protobuf(body: bytes) -> tuple[Telemetry, list[Rejection]]:
    """Decode an ExportTraceServiceRequest and map its spans; each bad span is rejected alone."""
    request = ExportTraceServiceRequest()
    _decode(request, body, "ExportTraceServiceRequest")
    spans: list[Span] = []
    rejections: list[Rejection] = []
    for r, resource_spans in enumerate(request.resource_spans):
        service = _service(resource_spans.resource)
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            for i, span in enumerate(scope_spans.spans):
                trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                problem = None
                if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
                    problem = ("traceId", f"must be 16 bytes, not all zeros; got {trace_id.hex()!r}")
                elif len(span_id) != 8 or span_id == _ZERO_SPAN:
                    problem = ("spanId", f"must be 8 bytes, not all zeros; got {span_id.hex()!r}")
                elif parent and len(parent) != 8:
                    problem = ("parentSpanId", f"must be 8 bytes or empty; got {parent.hex()!r}")
                elif end < start:
                    problem = ("endTimeUnixNano", f"{end} is before startTimeUnixNano {start}")
                elif end > MAX_NANOS:  # uint64 on the wire
                    problem = ("endTimeUnixNano", f"{end} {TOO_LATE}")
                if problem is not None:
                    where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}].{problem[0]}"
                    rejections.append(Rejection(where, problem[1]))
                    continue
                # Positional, and the status read only when present: this loop runs for every span.
                spans.append(
                    Span(
                        trace_id.hex(),
                        span_id.hex(),
                        parent.hex() if parent and parent != _ZERO_SPAN else None,
                        service,
                        span.name,
                        start,
                        end,
                        span.HasField("status") and span.status.code == STATUS_CODE_ERROR,
                    )
                )
    return Telemetry(spans=tuple(spans)), rejections


def parse_logs_protobuf(body: bytes) -> tuple[Telemetry, list[Rejection]]:
    """Decode an ExportLogsServiceRequest and map its records; each bad record is rejected alone."""
    request = ExportLogsServiceRequest()
    _decode(request, body, "ExportLogsServiceRequest")
    logs: list[LogRecord] = []
    rejections: list[Rejection] = []
    for r, resource_logs in enumerate(request.resource_logs):
        service = _service(resource_logs.resource)
        for s, scope_logs in enumerate(resource_logs.scope_logs):
            for i, record in enumerate(scope_logs.log_records):
                where = f"resourceLogs[{r}].scopeLogs[{s}].logRecords[{i}]"
                nanos = record.time_unix_nano or record.observed_time_unix_nano
                if nanos <= 0:
                    rejections.append(
                        Rejection(f"{where}.timeUnixNano", "is missing and so is observedTimeUnixNano")
                    )
                    continue
                if nanos > MAX_NANOS:
                    rejections.append(Rejection(f"{where}.timeUnixNano", f"{nanos} {TOO_LATE}"))
                    continue
                trace_id, span_id = record.trace_id, record.span_id
                if trace_id and len(trace_id) != 16:
                    rejections.append(
                        Rejection(f"{where}.traceId", f"must be 16 bytes; got {trace_id.hex()!r}")
                    )
                    continue
                if span_id and len(span_id) != 8:
                    rejections.append(Rejection(f"{where}.spanId", f"must be 8 bytes; got {span_id.hex()!r}"))
                    continue
                logs.append(
                    LogRecord(
                        timestamp=nanos_to_seconds(nanos),
                        service=service,
                        message=_text(record.body)
                        or bodiless_text(record.event_name, _labels(record.attributes)),
                        level=level_of(record.severity_number, record.severity_text),
                        trace_id=trace_id.hex() if trace_id != _ZERO_TRACE else "",
                        span_id=span_id.hex() if span_id != _ZERO_SPAN else "",
                    )
                )
    return Telemetry(logs=tuple(logs)), rejections


def parse_metrics_protobuf(body: bytes) -> tuple[Telemetry, list[Rejection]]:
    """Decode an ExportMetricsServiceRequest and map its data points; each bad point is rejected alone."""
    request = ExportMetricsServiceRequest()
    _decode(request, body, "ExportMetricsServiceRequest")
    builder = SeriesBuilder()
    rejections: list[Rejection] = []
    for r, resource_metrics in enumerate(request.resource_metrics):
        service = _service(resource_metrics.resource)
        for s, scope_metrics in enumerate(resource_metrics.scope_metrics):
            for m, metric in enumerate(scope_metrics.metrics):
                where = f"resourceMetrics[{r}].scopeMetrics[{s}].metrics[{m}]"
                if not metric.name:
                    rejections.append(Rejection(f"{where}.name", "is missing"))
                    continue
                _metric(metric, service, where, builder, rejections)
    return Telemetry(metrics=builder.build()), rejections


_JSON_KIND = {
    "gauge": "gauge",
    "sum": "sum",
    "histogram": "histogram",
    "exponential_histogram": "exponentialHistogram",
    "summary": "summary",
}


def _metric(
    metric: Any, service: ServiceId, where: str, builder: SeriesBuilder, rejections: list[Rejection]
) -> None:
    kind = metric.WhichOneof("data")
    if kind is None:
        rejections.append(
            Rejection(where, f"metric {metric.name!r} has no data (gauge, sum, histogram, ...)")
        )
        return
    name = metric.name
    for p, point in enumerate(getattr(metric, kind).data_points):
        if point.flags & FLAG_NO_RECORDED_VALUE:
            continue
        point_where = f"{where}.{_JSON_KIND[kind]}.dataPoints[{p}]"
        if point.time_unix_nano > MAX_NANOS:
            rejections.append(Rejection(f"{point_where}.timeUnixNano", f"{point.time_unix_nano} {TOO_LATE}"))
            continue
        timestamp = nanos_to_seconds(point.time_unix_nano)
        labels = _labels(point.attributes)
        if kind in ("gauge", "sum"):
            value_kind = point.WhichOneof("value")
            if value_kind is None:
                rejections.append(Rejection(f"{point_where}.asDouble", "is missing and so is asInt"))
                continue
            value = point.as_double if value_kind == "as_double" else float(point.as_int)
            builder.add(service, series_name(name, labels), timestamp, value)
            continue
        total = point.sum if kind == "summary" or point.HasField("sum") else None
        if kind == "histogram":
            counts, bounds = list(point.bucket_counts), list(point.explicit_bounds)
            if counts and len(counts) != len(bounds) + 1:
                rejections.append(
                    Rejection(
                        f"{point_where}.bucketCounts",
                        f"has {len(counts)} entries for {len(bounds)} explicitBounds (needs one more)",
                    )
                )
                continue
            low = point.min if point.HasField("min") else None
            high = point.max if point.HasField("max") else None
            estimates = [
                (q, explicit_quantile(q, counts, bounds, low=low, high=high) if counts else None)
                for q in QUANTILES
            ]
        elif kind == "exponential_histogram":
            positive = (point.positive.offset, list(point.positive.bucket_counts))
            negative = (point.negative.offset, list(point.negative.bucket_counts))
            estimates = [
                (
                    q,
                    exponential_quantile(
                        q,
                        scale=point.scale,
                        zero_count=point.zero_count,
                        positive=positive,
                        negative=negative,
                    ),
                )
                for q in QUANTILES
            ]
        else:
            estimates = [(v.quantile, v.value) for v in point.quantile_values]
        add_distribution(
            builder, service, name, labels, timestamp, count=point.count, total=total, quantiles=estimates
        )


def traces_response(rejected: int, message: str) -> bytes:
    """Return an ExportTraceServiceResponse, with partial_success when spans were rejected."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=rejected, error_message=message)
        )
    return response.SerializeToString()


def logs_response(rejected: int, message: str) -> bytes:
    """Return an ExportLogsServiceResponse, with partial_success when log records were rejected."""
    response = ExportLogsServiceResponse()
    if rejected:
        response.partial_success.CopyFrom(
            ExportLogsPartialSuccess(rejected_log_records=rejected, error_message=message)
        )
    return response.SerializeToString()


def metrics_response(rejected: int, message: str) -> bytes:
    """Return an ExportMetricsServiceResponse, with partial_success when data points were rejected."""
    response = ExportMetricsServiceResponse()
    if rejected:
        response.partial_success.CopyFrom(
            ExportMetricsPartialSuccess(rejected_data_points=rejected, error_message=message)
        )
    return response.SerializeToString()
