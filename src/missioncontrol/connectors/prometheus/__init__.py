"""Prometheus: metric series pulled with the HTTP API's `query_range` at investigation time.

client = PrometheusClient("http://prometheus:9090")
source = PrometheusTelemetrySource(client, parse_query_config(text, source="queries.yaml"))
telemetry, problems = source.fetch(start=onset - timedelta(minutes=30), end=alert_at, services=scope)
"""

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from missioncontrol.connectors.prometheus.client import PrometheusClient, PrometheusTelemetrySource
from missioncontrol.connectors.prometheus.mapping import (
    DEFAULT_QUERIES,
    PrometheusConfigError,
    PrometheusQueryError,
    QueryResult,
    QuerySet,
    parse_query_config,
    render_query,
    to_query_result,
)
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = [
    "DEFAULT_QUERIES",
    "PrometheusClient",
    "PrometheusConfig",
    "PrometheusConfigError",
    "PrometheusQueryError",
    "PrometheusTelemetrySource",
    "QueryResult",
    "QuerySet",
    "create_source",
    "parse_query_config",
    "render_query",
    "spec",
    "to_query_result",
]


class PrometheusConfig(BaseModel):
    """Settings for pulling from Prometheus."""

    url: str = Field(description="Base URL of the Prometheus HTTP API, e.g. http://prometheus:9090.")
    queries_file: Path | None = Field(
        default=None, description="YAML file: `step_s` and `queries: {name: PromQL with {service}}`."
    )
    bearer_token: SecretStr | None = Field(default=None, description="Sent as `Authorization: Bearer`.")
    timeout_s: float = Field(default=10.0, gt=0, description="Per-query HTTP timeout in seconds.")


def create_source(config: PrometheusConfig) -> PrometheusTelemetrySource:
    """Return a telemetry source for `config`, its query file read and checked now."""
    queries = QuerySet()
    if config.queries_file is not None:
        try:
            text = config.queries_file.read_text()
        except OSError as exc:
            raise PrometheusConfigError(f"{config.queries_file}: cannot read: {exc}") from exc
        queries = parse_query_config(text, source=str(config.queries_file))
    token = config.bearer_token.get_secret_value() if config.bearer_token else None
    client = PrometheusClient(config.url, timeout_s=config.timeout_s, bearer_token=token)
    return PrometheusTelemetrySource(client, queries)


spec = ConnectorSpec(
    name="prometheus",
    summary="Prometheus HTTP API query_range: per-service PromQL series pulled for an investigation window.",
    capabilities=frozenset({Capability.TELEMETRY_SOURCE}),
    config=PrometheusConfig,
    factory=create_source,
    docs="docs/connectors/prometheus.md",
    samples=Path(__file__).parent / "samples",
    needs_config=True,
)
