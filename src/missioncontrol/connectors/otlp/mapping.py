"""Map OTLP/JSON export requests (traces, logs, metrics) to domain telemetry, and back. Pure; no I/O.

The OTLP/JSON encoding is protobuf's JSON mapping with three OTLP rules: field names in lowerCamelCase,
trace and span ids as hex strings (not base64), and enums as integers. 64-bit integers may arrive as
JSON strings or numbers. Every mapping returns `(telemetry, rejections)`: one bad span, log record or
data point is named in a `Rejection` and never drops the rest of its batch.

The tables and the series builder here are shared with `protobuf.py`, which walks the generated
protobuf classes and feeds the same functions.
"""

import base64
import binascii
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from missioncontrol.domain import LogRecord, MetricSeries, ServiceId, Span, Telemetry
from missioncontrol.domain.rejections import Rejection

SERVICE_ATTRIBUTE = "service.name"
UNKNOWN_SERVICE = ServiceId("unknown_service")  # the SDK specification's fallback when none is set
STATUS_CODE_ERROR = 2
STATUS_CODE_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
FLAG_NO_RECORDED_VALUE = 1  # DataPointFlags: the point marks a gap, it carries no value
QUANTILES = (0.5, 0.9, 0.99)

# SeverityNumber ranges (logs data model): 1-4 TRACE,
# 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL.
SEVERITY_RANGES = ((1, "TRACE"), (5, "DEBUG"), (9, "INFO"), (13, "WARN"), (17, "ERROR"), (21, "FATAL"))
SEVERITY_NUMBER = {name: low for low, name in SEVERITY_RANGES}
# Severity texts seen in the wild, normalised to the data model's short names.
SEVERITY_TEXT = {
    "TRACE": "TRACE",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "INFORMATION": "INFO",
    "NOTICE": "INFO",
    "WARN": "WARN",
    "WARNING": "WARN",
    "ERROR": "ERROR",
    "ERR": "ERROR",
    "CRITICAL": "FATAL",
    "FATAL": "FATAL",
    "PANIC": "FATAL",
}
# Attributes that name the service rather than distinguish one of its series.
SERVICE_LABELS = frozenset({"service.name", "service", "service_name", "job"})

# An OpenTelemetry event (a log record with an event name, e.g. GenAI's `gen_ai.evaluation.result`)
# often has no body: what happened is in its attributes. Those that say *what kind* of outcome it was
# (an evaluation's name and label) become its text; identifiers and free text would make every line
# its own template, so attributes named like ids, and values that are long or hold spaces, are left out.
EVENT_NAME_ATTRIBUTE = "event.name"  # before OTLP 1.5 gave log records an `eventName` field
EVENT_VALUE_MAX = 64
_ID_KEY = re.compile(r"(^|[._])(id|uid|uuid)$")


def event_text(event_name: str, attributes: Mapping[str, str]) -> str:
    """Return an event's line: its name, then `key=value` for its short, non-identifying attributes.

    `gen_ai.evaluation.result` with name Relevance, label fail and score 0.2 reads
    `gen_ai.evaluation.result gen_ai.evaluation.name=Relevance gen_ai.evaluation.score.label=fail
    gen_ai.evaluation.score.value=0.2`: a failing evaluation and a passing one are different lines,
    so a component that starts answering wrongly (200 OK, on time) shows as a surging line of its own.
    """
    parts = [event_name]
    for key in sorted(attributes):
        value = attributes[key]
        if key == EVENT_NAME_ATTRIBUTE or _ID_KEY.search(key) or len(value) > EVENT_VALUE_MAX:
            continue
        if any(c.isspace() for c in value):
            continue  # free text (an evaluator's explanation), not a kind of outcome
        parts.append(f"{key}={value}")
    return " ".join(parts)


def bodiless_text(event_name: str, labels: Mapping[str, str]) -> str:
    """Return the text of a log record with no body: its event's line (`event_text`) if it is an event
    (named by OTLP's `eventName` field or the older `event.name` attribute), else nothing."""
    name = event_name or labels.get(EVENT_NAME_ATTRIBUTE, "")
    return event_text(name, labels) if name else ""


_SERIES_NAME = re.compile(r"^(?P<name>[^{]+)(?:\{(?P<labels>.*)\})?$")
_LABEL = re.compile(r'\s*(?P<key>[^=,\s]+)="(?P<value>(?:[^"\\]|\\.)*)"\s*(?:,|$)')


def level_of(severity_number: int, severity_text: str) -> str:
    """Return the short level (TRACE..FATAL) of a log record: from its number, else its text."""
    if 1 <= severity_number <= 24:
        name = "TRACE"
        for low, range_name in SEVERITY_RANGES:
            if severity_number >= low:
                name = range_name
        return name
    text = severity_text.strip().upper()
    return SEVERITY_TEXT.get(text, text)


def series_name(metric: str, attributes: Mapping[str, str]) -> str:
    """Return `metric{k="v",...}` with the sorted attributes that distinguish a series (not the service)."""
    labels = [(k, v) for k, v in sorted(attributes.items()) if k not in SERVICE_LABELS]
    if not labels:
        return metric
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return f"{metric}{{{inner}}}"


def parse_series_name(name: str) -> tuple[str, dict[str, str]]:
    """Split a series name made by `series_name` into the metric name and its attributes."""
    match = _SERIES_NAME.match(name)
    if match is None or match["labels"] is None:
        return name, {}
    labels = {m["key"]: _unescape(m["value"]) for m in _LABEL.finditer(match["labels"])}
    return match["name"], labels


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def quantile_suffix(q: float) -> str:
    """Return the series suffix of a quantile: 0.5 → `p50`, 0.999 → `p99.9`."""
    return "p" + f"{q * 100:.6f}".rstrip("0").rstrip(".")


def explicit_quantile(
    q: float, counts: Sequence[int], bounds: Sequence[float], *, low: float | None, high: float | None
) -> float | None:
    """Estimate quantile `q` of an explicit-bucket histogram by linear interpolation inside its bucket.

    Bucket i holds values in (bounds[i-1], bounds[i]]; the first and last buckets are open and are
    closed with the point's `min`/`max` where given (else the nearest bound, as Prometheus does).
    """
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for i, count in enumerate(counts):
        if count <= 0 or seen + count < rank:
            seen += count
            continue
        lower = (
            bounds[i - 1] if i > 0 else (low if low is not None else min(bounds[0], 0.0) if bounds else 0.0)
        )
        upper = (
            bounds[i] if i < len(bounds) else (high if high is not None else bounds[-1] if bounds else lower)
        )
        if low is not None:
            lower = max(lower, low)
        if high is not None:
            upper = min(upper, high)
        return lower + (upper - lower) * ((rank - seen) / count)
    return bounds[-1] if bounds else None


def exponential_quantile(
    q: float,
    *,
    scale: int,
    zero_count: int,
    positive: tuple[int, Sequence[int]],
    negative: tuple[int, Sequence[int]],
) -> float | None:
    """Estimate quantile `q` of an exponential histogram; bucket index i holds (base^i, base^(i+1)]."""
    base = 2.0 ** (2.0**-scale)
    buckets: list[tuple[float, float, int]] = []
    neg_offset, neg_counts = negative
    for k in range(len(neg_counts) - 1, -1, -1):
        index = neg_offset + k
        buckets.append((-(base ** (index + 1)), -(base**index), neg_counts[k]))
    buckets.append((0.0, 0.0, zero_count))
    pos_offset, pos_counts = positive
    for k, count in enumerate(pos_counts):
        index = pos_offset + k
        buckets.append((base**index, base ** (index + 1), count))
    total = sum(count for _, _, count in buckets)
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for lower, upper, count in buckets:
        if count <= 0 or seen + count < rank:
            seen += count
            continue
        return lower + (upper - lower) * ((rank - seen) / count)
    return buckets[-1][1]


class SeriesBuilder:
    """Collect metric points by (service, series name) and emit ascending `MetricSeries`."""

    def __init__(self) -> None:
        self._points: dict[tuple[ServiceId, str], list[tuple[float, float]]] = defaultdict(list)

    def add(self, service: ServiceId, name: str, timestamp: float, value: float) -> None:
        """Add one point."""
        self._points[service, name].append((timestamp, value))

    def build(self) -> tuple[MetricSeries, ...]:
        """Return one series per (service, name), points in time order."""
        out = []
        for (service, name), points in sorted(self._points.items()):
            points.sort()
            out.append(
                MetricSeries(
                    service=service,
                    metric=name,
                    timestamps=tuple(t for t, _ in points),
                    values=tuple(v for _, v in points),
                )
            )
        return tuple(out)


def add_distribution(
    builder: SeriesBuilder,
    service: ServiceId,
    metric: str,
    labels: Mapping[str, str],
    timestamp: float,
    *,
    count: float,
    total: float | None,
    quantiles: Iterable[tuple[float, float | None]],
) -> None:
    """Add a histogram or summary point as `<metric>_count`, `_sum` and `_p50`-style quantile series."""
    builder.add(service, series_name(f"{metric}_count", labels), timestamp, float(count))
    if total is not None:
        builder.add(service, series_name(f"{metric}_sum", labels), timestamp, total)
    for q, value in quantiles:
        if value is not None and math.isfinite(value):
            builder.add(service, series_name(f"{metric}_{quantile_suffix(q)}", labels), timestamp, value)


# The stores keep times as int64 Unix nanoseconds (numpy datetime64[ns], chDB DateTime64(9)), which end
# on 2262-04-11, and pass them through float seconds: a time after 2262-01-01 (or a negative one) is
# rejected by name, not failed in the store as a 503 telling the exporter to retry the batch forever.
MAX_NANOS = 9_214_646_400_000_000_000  # 2262-01-01T00:00:00Z
TOO_LATE = f"is after {MAX_NANOS} (2262-01-01), the last time the telemetry store can hold"


def nanos_to_seconds(nanos: int) -> float:
    """Return Unix seconds from Unix nanoseconds (exact division, then one rounding)."""
    return nanos / 1_000_000_000


def seconds_to_nanos(seconds: float) -> int:
    """Return Unix nanoseconds from Unix seconds, exact to the nanosecond (so the round trip is lossless)."""
    whole = math.floor(seconds)
    # The fraction is exact in binary; scaling it alone keeps the error far below a nanosecond.
    return whole * 1_000_000_000 + round((seconds - whole) * 1_000_000_000)


# --- OTLP/JSON in ---------------------------------------------------------------------------------


class _Bad(ValueError):
    """One field of one item is wrong; `field` is its JSON name."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _int(value: Any, field: str, *, default: int | None = None) -> int:
    if value is None:
        if default is None:
            raise _Bad(field, "is missing")
        return default
    if isinstance(value, bool):
        raise _Bad(field, f"must be an integer, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise _Bad(field, f"must be an integer (JSON number or decimal string), not {value!r}") from None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _Bad(field, f"must be an integer, not {value!r}")


_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _float(value: Any, field: str) -> float:
    if isinstance(value, bool):
        raise _Bad(field, f"must be a number, not {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value in _FLOAT_WORDS:
            return _FLOAT_WORDS[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise _Bad(field, f"must be a number, not {value!r}")


def _enum(value: Any, field: str, names: Mapping[str, int]) -> int:
    if isinstance(value, str) and value in names:
        return names[value]  # protobuf's JSON parser accepts names too; be as lenient
    return _int(value, field, default=0)


def hex_id(value: Any, field: str, *, size: int, required: bool) -> str:
    """Return a trace or span id as lowercase hex, from OTLP/JSON hex (or protobuf-JSON base64)."""
    if value is None or value == "":
        if required:
            raise _Bad(field, "is missing")
        return ""
    if not isinstance(value, str):
        raise _Bad(field, f"must be a hex string, not {value!r}")
    if len(value) == 2 * size:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise _Bad(field, f"must be {2 * size} hex digits, not {value!r}") from None
    else:
        # Protobuf's generic JSON mapping writes bytes as base64; some exporters send that.
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != size:
            raise _Bad(field, f"must be {2 * size} hex digits ({size} bytes), not {value!r}")
    if not any(raw):
        if required:
            raise _Bad(field, "is all zeros, which OTLP defines as invalid")
        return ""
    return raw.hex()


def any_value_text(value: Any) -> str:
    """Render an OTLP/JSON AnyValue as text: strings as they are, the rest as compact JSON."""
    plain = _any_value(value)
    return plain if isinstance(plain, str) else json.dumps(plain, separators=(",", ":"), sort_keys=True)


def _any_value(value: Any) -> Any:
    if not isinstance(value, Mapping) or not value:
        return ""
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return _int(value["intValue"], "intValue")
    if "doubleValue" in value:
        return _float(value["doubleValue"], "doubleValue")
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", ())]
    if "kvlistValue" in value:
        return {
            kv.get("key", ""): _any_value(kv.get("value")) for kv in value["kvlistValue"].get("values", ())
        }
    if "bytesValue" in value:
        return str(value["bytesValue"])
    return ""


def _label_text(value: Any) -> str:
    plain = _any_value(value)
    if isinstance(plain, bool):
        return "true" if plain else "false"
    return plain if isinstance(plain, str) else json.dumps(plain, separators=(",", ":"), sort_keys=True)


def attributes_of(items: Any) -> dict[str, str]:
    """Return an OTLP/JSON attribute list as a str → str mapping."""
    out: dict[str, str] = {}
    for kv in items or ():
        if isinstance(kv, Mapping) and "key" in kv:
            out[str(kv["key"])] = _label_text(kv.get("value"))
    return out


def _service(resource: Any) -> ServiceId:
    attributes = resource.get("attributes") if isinstance(resource, Mapping) else None
    name = attributes_of(attributes).get(SERVICE_ATTRIBUTE, "")
    return ServiceId(name) if name else UNKNOWN_SERVICE


def _list(container: Any, key: str, where: str, rejections: list[Rejection]) -> list[Any]:
    value = container.get(key, []) if isinstance(container, Mapping) else None
    if value is None:
        return []
    if not isinstance(value, list):
        rejections.append(Rejection(f"{where}.{key}", f"must be a list, not {type(value).__name__}"))
        return []
    return value


def parse_traces_json(payload: Any) -> tuple[Telemetry, list[Rejection]]:
    """Map an ExportTraceServiceRequest in OTLP/JSON to spans; each bad span is rejected alone."""
    spans: list[Span] = []
    rejections: list[Rejection] = []
    for r, resource_spans in enumerate(_list(payload, "resourceSpans", "$", rejections)):
        where_r = f"resourceSpans[{r}]"
        service = _service(resource_spans.get("resource") if isinstance(resource_spans, Mapping) else None)
        for s, scope_spans in enumerate(_list(resource_spans, "scopeSpans", where_r, rejections)):
            where_s = f"{where_r}.scopeSpans[{s}]"
            for i, raw in enumerate(_list(scope_spans, "spans", where_s, rejections)):
                where = f"{where_s}.spans[{i}]"
                try:
                    spans.append(_span(raw, service))
                except _Bad as bad:
                    rejections.append(Rejection(f"{where}.{bad.field}", bad.reason))
    return Telemetry(spans=tuple(spans)), rejections


def _span(raw: Any, service: ServiceId) -> Span:
    if not isinstance(raw, Mapping):
        raise _Bad("", f"must be an object, not {type(raw).__name__}")
    start = _int(raw.get("startTimeUnixNano"), "startTimeUnixNano")
    end = _int(raw.get("endTimeUnixNano"), "endTimeUnixNano")
    if start < 0:
        raise _Bad("startTimeUnixNano", f"{start} is negative")
    if end < start:
        raise _Bad("endTimeUnixNano", f"{end} is before startTimeUnixNano {start}")
    if end > MAX_NANOS:
        raise _Bad("endTimeUnixNano", f"{end} {TOO_LATE}")
    status = raw.get("status")
    code = _enum(status.get("code"), "status.code", STATUS_CODE_NAMES) if isinstance(status, Mapping) else 0
    parent = hex_id(raw.get("parentSpanId"), "parentSpanId", size=8, required=False)
    return Span(
        trace_id=hex_id(raw.get("traceId"), "traceId", size=16, required=True),
        span_id=hex_id(raw.get("spanId"), "spanId", size=8, required=True),
        parent_span_id=parent or None,
        service=service,
        operation=str(raw.get("name", "")),
        start_ns=start,
        end_ns=end,
        is_error=code == STATUS_CODE_ERROR,
    )


def parse_logs_json(payload: Any) -> tuple[Telemetry, list[Rejection]]:
    """Map an ExportLogsServiceRequest in OTLP/JSON to log records; each bad record is rejected alone."""
    logs: list[LogRecord] = []
    rejections: list[Rejection] = []
    for r, resource_logs in enumerate(_list(payload, "resourceLogs", "$", rejections)):
        where_r = f"resourceLogs[{r}]"
        service = _service(resource_logs.get("resource") if isinstance(resource_logs, Mapping) else None)
        for s, scope_logs in enumerate(_list(resource_logs, "scopeLogs", where_r, rejections)):
            where_s = f"{where_r}.scopeLogs[{s}]"
            for i, raw in enumerate(_list(scope_logs, "logRecords", where_s, rejections)):
                try:
                    logs.append(_log(raw, service))
                except _Bad as bad:
                    rejections.append(Rejection(f"{where_s}.logRecords[{i}].{bad.field}", bad.reason))
    return Telemetry(logs=tuple(logs)), rejections


def _log(raw: Any, service: ServiceId) -> LogRecord:
    if not isinstance(raw, Mapping):
        raise _Bad("", f"must be an object, not {type(raw).__name__}")
    nanos = _int(raw.get("timeUnixNano"), "timeUnixNano", default=0) or _int(
        raw.get("observedTimeUnixNano"), "observedTimeUnixNano", default=0
    )
    if nanos <= 0:
        raise _Bad("timeUnixNano", "is missing and so is observedTimeUnixNano")
    if nanos > MAX_NANOS:
        raise _Bad("timeUnixNano", f"{nanos} {TOO_LATE}")
    number = _int(raw.get("severityNumber"), "severityNumber", default=0)
    text = raw.get("severityText", "")
    body = any_value_text(raw.get("body"))
    return LogRecord(
        timestamp=nanos_to_seconds(nanos),
        service=service,
        message=body
        or bodiless_text(
            event if isinstance(event := raw.get("eventName"), str) else "",
            attributes_of(raw.get("attributes")),
        ),
        level=level_of(number, text if isinstance(text, str) else ""),
        trace_id=hex_id(raw.get("traceId"), "traceId", size=16, required=False),
        span_id=hex_id(raw.get("spanId"), "spanId", size=8, required=False),
    )


def parse_metrics_json(payload: Any) -> tuple[Telemetry, list[Rejection]]:
    """Map an ExportMetricsServiceRequest in OTLP/JSON to series; each bad data point is rejected alone.

    Gauges and sums give one series per attribute set; histograms, exponential histograms and
    summaries give `_count`, `_sum` and quantile (`_p50`, `_p90`, `_p99`) series.
    """
    builder = SeriesBuilder()
    rejections: list[Rejection] = []
    for r, resource_metrics in enumerate(_list(payload, "resourceMetrics", "$", rejections)):
        where_r = f"resourceMetrics[{r}]"
        service = _service(
            resource_metrics.get("resource") if isinstance(resource_metrics, Mapping) else None
        )
        for s, scope_metrics in enumerate(_list(resource_metrics, "scopeMetrics", where_r, rejections)):
            where_s = f"{where_r}.scopeMetrics[{s}]"
            for m, metric in enumerate(_list(scope_metrics, "metrics", where_s, rejections)):
                _metric(metric, service, f"{where_s}.metrics[{m}]", builder, rejections)
    return Telemetry(metrics=builder.build()), rejections


_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")


def _metric(
    metric: Any, service: ServiceId, where: str, builder: SeriesBuilder, rejections: list[Rejection]
) -> None:
    if not isinstance(metric, Mapping):
        rejections.append(Rejection(where, f"must be an object, not {type(metric).__name__}"))
        return
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        rejections.append(Rejection(f"{where}.name", "is missing"))
        return
    kind = next((k for k in _KINDS if k in metric), None)
    if kind is None:
        rejections.append(Rejection(where, f"metric {name!r} has none of {', '.join(_KINDS)}"))
        return
    for p, point in enumerate(_list(metric[kind], "dataPoints", f"{where}.{kind}", rejections)):
        try:
            _point(kind, point, service, name, builder)
        except _Bad as bad:
            rejections.append(Rejection(f"{where}.{kind}.dataPoints[{p}].{bad.field}", bad.reason))


def _point(kind: str, point: Any, service: ServiceId, metric: str, builder: SeriesBuilder) -> None:
    if not isinstance(point, Mapping):
        raise _Bad("", f"must be an object, not {type(point).__name__}")
    if _int(point.get("flags"), "flags", default=0) & FLAG_NO_RECORDED_VALUE:
        return
    nanos = _int(point.get("timeUnixNano"), "timeUnixNano")
    if not 0 <= nanos <= MAX_NANOS:
        raise _Bad("timeUnixNano", f"{nanos} {TOO_LATE}" if nanos > 0 else f"{nanos} is negative")
    timestamp = nanos_to_seconds(nanos)
    labels = attributes_of(point.get("attributes"))
    if kind in ("gauge", "sum"):
        if "asDouble" in point:
            value = _float(point["asDouble"], "asDouble")
        elif "asInt" in point:
            value = float(_int(point["asInt"], "asInt"))
        else:
            raise _Bad("asDouble", "is missing and so is asInt")
        builder.add(service, series_name(metric, labels), timestamp, value)
        return
    count = _int(point.get("count"), "count", default=0)
    total = _float(point["sum"], "sum") if "sum" in point else None
    if kind == "histogram":
        counts = [_int(c, "bucketCounts") for c in point.get("bucketCounts", ())]
        bounds = [_float(b, "explicitBounds") for b in point.get("explicitBounds", ())]
        if counts and len(counts) != len(bounds) + 1:
            raise _Bad(
                "bucketCounts", f"has {len(counts)} entries for {len(bounds)} explicitBounds (needs one more)"
            )
        low = _float(point["min"], "min") if "min" in point else None
        high = _float(point["max"], "max") if "max" in point else None
        estimates = [
            (q, explicit_quantile(q, counts, bounds, low=low, high=high) if counts else None)
            for q in QUANTILES
        ]
    elif kind == "exponentialHistogram":
        scale = _int(point.get("scale"), "scale", default=0)
        zero = _int(point.get("zeroCount"), "zeroCount", default=0)
        positive = _buckets(point.get("positive"), "positive")
        negative = _buckets(point.get("negative"), "negative")
        estimates = [
            (q, exponential_quantile(q, scale=scale, zero_count=zero, positive=positive, negative=negative))
            for q in QUANTILES
        ]
    else:
        estimates = []
        for value in point.get("quantileValues", ()):
            if isinstance(value, Mapping):
                q = _float(value.get("quantile", 0.0), "quantileValues.quantile")
                estimates.append((q, _float(value.get("value", 0.0), "quantileValues.value")))
    add_distribution(
        builder, service, metric, labels, timestamp, count=count, total=total, quantiles=estimates
    )


def _buckets(raw: Any, field: str) -> tuple[int, list[int]]:
    if not isinstance(raw, Mapping):
        return 0, []
    offset = _int(raw.get("offset"), f"{field}.offset", default=0)
    return offset, [_int(c, f"{field}.bucketCounts") for c in raw.get("bucketCounts", ())]


# --- domain → OTLP/JSON ---------------------------------------------------------------------------


def _resource(service: ServiceId) -> dict[str, Any]:
    return {"attributes": [{"key": SERVICE_ATTRIBUTE, "value": {"stringValue": str(service)}}]}


_SCOPE = {"name": "missioncontrol", "version": "1"}


def _json_double(value: float) -> float | str:
    """Return a double for proto3 JSON: finite numbers as they are, NaN and infinities as their words."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def to_otlp_json(telemetry: Telemetry) -> dict[str, dict[str, Any]]:
    """Return OTLP/JSON export requests for `telemetry`, keyed by signal: `traces`, `logs`, `metrics`.

    Each value is the body to POST to `/v1/<signal>`; signals with nothing to send are left out. Series
    names made by `series_name` become a gauge with their attributes, so parsing gives them back.
    """
    out: dict[str, dict[str, Any]] = {}
    if telemetry.spans:
        by_service: dict[ServiceId, list[dict[str, Any]]] = defaultdict(list)
        for span in telemetry.spans:
            raw: dict[str, Any] = {
                "traceId": span.trace_id,
                "spanId": span.span_id,
                "name": span.operation,
                "kind": 1,  # SPAN_KIND_INTERNAL: the domain does not keep the kind
                "startTimeUnixNano": str(span.start_ns),
                "endTimeUnixNano": str(span.end_ns),
            }
            if span.parent_span_id:
                raw["parentSpanId"] = span.parent_span_id
            if span.is_error:
                raw["status"] = {"code": STATUS_CODE_ERROR}
            by_service[span.service].append(raw)
        out["traces"] = {
            "resourceSpans": [
                {"resource": _resource(service), "scopeSpans": [{"scope": _SCOPE, "spans": spans}]}
                for service, spans in by_service.items()
            ]
        }
    if telemetry.logs:
        logs_by_service: dict[ServiceId, list[dict[str, Any]]] = defaultdict(list)
        for record in telemetry.logs:
            raw = {
                "timeUnixNano": str(seconds_to_nanos(record.timestamp)),
                "body": {"stringValue": record.message},
            }
            if record.level:
                raw["severityText"] = record.level
                if record.level in SEVERITY_NUMBER:
                    raw["severityNumber"] = SEVERITY_NUMBER[record.level]
            if record.trace_id:
                raw["traceId"] = record.trace_id
            if record.span_id:
                raw["spanId"] = record.span_id
            logs_by_service[record.service].append(raw)
        out["logs"] = {
            "resourceLogs": [
                {"resource": _resource(service), "scopeLogs": [{"scope": _SCOPE, "logRecords": records}]}
                for service, records in logs_by_service.items()
            ]
        }
    if telemetry.metrics:
        points_by_metric: dict[ServiceId, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for series in telemetry.metrics:
            name, labels = parse_series_name(series.metric)
            attributes = [{"key": k, "value": {"stringValue": v}} for k, v in labels.items()]
            points_by_metric[series.service][name].extend(
                {
                    "timeUnixNano": str(seconds_to_nanos(t)),
                    "asDouble": _json_double(v),
                    "attributes": attributes,
                }
                for t, v in zip(series.timestamps, series.values, strict=True)
            )
        out["metrics"] = {
            "resourceMetrics": [
                {
                    "resource": _resource(service),
                    "scopeMetrics": [
                        {
                            "scope": _SCOPE,
                            "metrics": [
                                {"name": name, "gauge": {"dataPoints": points}}
                                for name, points in by_name.items()
                            ],
                        }
                    ],
                }
                for service, by_name in points_by_metric.items()
            ]
        }
    return out
