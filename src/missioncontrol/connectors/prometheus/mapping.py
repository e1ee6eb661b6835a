"""Map Prometheus HTTP API responses (`query_range`, `query`) to domain metric series. Pure; no I/O.

A response is `{"status": "success"|"error", "data": {"resultType": ..., "result": ...}, "errorType",
"error", "warnings"}`. A matrix holds `{"metric": {labels}, "values": [[unix_s, "v"], ...]}` per series,
a vector `{"metric", "value": [unix_s, "v"]}`, a scalar `[unix_s, "v"]`. Sample values are strings
("NaN", "+Inf" included); NaN samples are left out, as Prometheus' own graphs leave a gap.

The queries to run per service come from a small YAML file (`parse_query_config`); `{service}` in a
query is replaced by the service name, escaped for a PromQL string literal.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from missioncontrol.domain import MetricSeries, MissionControlError, ServiceId

PLACEHOLDER = "{service}"
MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series than this

# A sane starting set, by convention: process metrics of the client libraries and OpenTelemetry's
# HTTP server semantic conventions as the Collector's Prometheus exporter names them. `{label}` is the
# label that names the service: `job` by default, as the OpenTelemetry-to-Prometheus mapping sets it
# from `service.name`; `service` or `app` where relabelling put the name there.
_DEFAULT_TEMPLATES: Mapping[str, str] = {
    "up": 'min(up{{label}="{service}"})',
    "cpu_seconds_rate": 'sum(rate(process_cpu_seconds_total{{label}="{service}"}[1m]))',
    "memory_resident_bytes": 'sum(process_resident_memory_bytes{{label}="{service}"})',
    "http_request_rate": 'sum(rate(http_server_request_duration_seconds_count{{label}="{service}"}[1m]))',
    "http_error_rate": (
        'sum(rate(http_server_request_duration_seconds_count{{label}="{service}",'
        'http_response_status_code=~"5.."}[1m]))'
    ),
    "http_latency_p99_seconds": (
        "histogram_quantile(0.99, sum by (le) "
        '(rate(http_server_request_duration_seconds_bucket{{label}="{service}"}[1m])))'
    ),
}
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def default_queries(service_label: str = "job") -> dict[str, str]:
    """Return the built-in queries, matching the service on `service_label` (a Prometheus label name)."""
    if not LABEL_NAME.fullmatch(service_label):
        raise PrometheusConfigError(f"service_label: {service_label!r} is not a Prometheus label name")
    return {name: q.replace("{label}", service_label) for name, q in _DEFAULT_TEMPLATES.items()}


class PrometheusQueryError(MissionControlError):
    """A PromQL query failed; the message names the query, range, step and source."""


class PrometheusConfigError(MissionControlError):
    """The query file is not what we expect; the message names the file and the field."""


DEFAULT_QUERIES: Mapping[str, str] = default_queries()


@dataclass(frozen=True, slots=True)
class QuerySet:
    """PromQL queries per service: `{name: query}` with a `{service}` placeholder, and the step."""

    queries: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_QUERIES))
    step_s: float = 15.0


@dataclass(frozen=True, slots=True)
class QueryResult:
    """One query's outcome: its series, or "no data" (empty, not an error), plus Prometheus' warnings."""

    query: str
    series: tuple[MetricSeries, ...]
    warnings: tuple[str, ...] = ()

    @property
    def has_data(self) -> bool:
        return bool(self.series)


def parse_query_config(text: str, *, source: str) -> QuerySet:
    """Return the query set in a YAML document `{step_s: 15, queries: {name: promql}}`."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PrometheusConfigError(f"{source}: not YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise PrometheusConfigError(f"{source}: expected a mapping with `queries`, got {type(raw).__name__}")
    return to_query_set(raw.get("queries"), raw.get("step_s", 15.0), source=source)


def to_query_set(queries: Any, step: Any, *, source: str) -> QuerySet:
    """Return a checked query set: a non-empty `{name: PromQL with {service}}` and a positive step."""
    if not isinstance(queries, dict) or not queries:
        raise PrometheusConfigError(f"{source}: `queries` must be a non-empty mapping of name to PromQL")
    for name, query in queries.items():
        if not isinstance(name, str) or not isinstance(query, str) or not query.strip():
            raise PrometheusConfigError(f"{source}: queries.{name}: expected a PromQL string")
        if PLACEHOLDER not in query:
            raise PrometheusConfigError(
                f"{source}: queries.{name}: no {PLACEHOLDER} placeholder in {query!r}"
            )
    if not isinstance(step, int | float) or isinstance(step, bool) or step <= 0:
        raise PrometheusConfigError(f"{source}: step_s: expected a positive number of seconds, got {step!r}")
    return QuerySet(queries=dict(queries), step_s=float(step))


def render_query(template: str, service: ServiceId) -> str:
    """Return `template` with `{service}` replaced by the service name, safe inside a PromQL string."""
    escaped = service.replace("\\", "\\\\").replace('"', '\\"')
    return template.replace(PLACEHOLDER, escaped)


def choose_step(start: datetime, end: datetime, step_s: float) -> float:
    """Return `step_s`, widened so the range stays within Prometheus' points-per-series limit."""
    span = (end - start).total_seconds()
    return max(step_s, math.ceil(span / (MAX_POINTS - 1)))


def describe(query: str, start: datetime, end: datetime, step_s: float, source: str) -> str:
    """Return the tail every message about a query carries: what was asked, over what, of whom."""
    return f"query={query!r} range={start.isoformat()}..{end.isoformat()} step={step_s:g}s source={source}"


def to_query_result(
    payload: Any,
    *,
    service: ServiceId,
    name: str,
    query: str,
    context: str,
) -> QueryResult:
    """Return the series of a successful response, named `name` (plus labels when several come back).

    Raises PrometheusQueryError for an error body or a payload that is not the API's shape; `context`
    (from `describe`) ends every message.
    """
    if not isinstance(payload, dict):
        raise PrometheusQueryError(f"PromQL query failed: response is not a JSON object; {context}")
    if payload.get("status") != "success":
        kind = payload.get("errorType", "unknown")
        raise PrometheusQueryError(f"PromQL query failed: {kind}: {payload.get('error', '')!s}; {context}")
    data = payload.get("data")
    if not isinstance(data, dict) or "result" not in data:
        raise PrometheusQueryError(f"PromQL query failed: response has no data.result; {context}")
    warnings = tuple(str(w) for w in payload.get("warnings") or ())
    kind = data.get("resultType")
    result = data["result"]
    try:
        if kind == "matrix":
            rows = [(item.get("metric", {}), item.get("values", [])) for item in result]
        elif kind == "vector":
            rows = [(item.get("metric", {}), [item["value"]]) for item in result]
        elif kind == "scalar":
            rows = [({}, [result])]
        else:
            raise PrometheusQueryError(f"PromQL query returned resultType {kind!r}, not numbers; {context}")
        series = tuple(
            _series(service, name, labels, samples, several=len(rows) > 1) for labels, samples in rows
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PrometheusQueryError(
            f"PromQL query failed: malformed {kind} result ({exc!r}); {context}"
        ) from exc
    return QueryResult(query=query, series=tuple(s for s in series if s.timestamps), warnings=warnings)


def _series(
    service: ServiceId, name: str, labels: Mapping[str, str], samples: list[Any], *, several: bool
) -> MetricSeries:
    kept = [(float(t), float(v)) for t, v in samples if not math.isnan(float(v))]
    metric = name
    if several:
        shown = sorted((k, v) for k, v in labels.items() if k != "__name__")
        metric = name + "{" + ",".join(f'{k}="{v}"' for k, v in shown) + "}"
    return MetricSeries(
        service=service,
        metric=metric,
        timestamps=tuple(t for t, _ in kept),
        values=tuple(v for _, v in kept),
    )
