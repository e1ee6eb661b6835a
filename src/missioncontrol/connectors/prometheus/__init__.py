"""Prometheus: metric series pulled with the HTTP API's `query_range` at investigation time.

client = PrometheusClient("http://prometheus:9090")
source = PrometheusTelemetrySource(client, parse_query_config(text, source="queries.yaml"))
telemetry, problems = source.fetch(start=onset - timedelta(minutes=30), end=alert_at, services=scope)

At investigation time the composition root wraps the embedded telemetry store in a
`PullingTelemetryStore` (store.py): every read the investigator makes adds the services' pulled series.
"""

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from missioncontrol.connectors.prometheus.client import (
    PrometheusClient,
    PrometheusTelemetrySource,
    PullReport,
)
from missioncontrol.connectors.prometheus.mapping import (
    DEFAULT_QUERIES,
    PrometheusConfigError,
    PrometheusQueryError,
    QueryResult,
    QuerySet,
    default_queries,
    parse_query_config,
    render_query,
    to_query_result,
    to_query_set,
)
from missioncontrol.connectors.prometheus.store import PullConfig, PullingTelemetryStore
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = [
    "DEFAULT_QUERIES",
    "PrometheusClient",
    "PrometheusConfig",
    "PrometheusConfigError",
    "PrometheusQueryError",
    "PrometheusTelemetrySource",
    "PullConfig",
    "PullReport",
    "PullingTelemetryStore",
    "QueryResult",
    "QuerySet",
    "create_source",
    "default_queries",
    "parse_query_config",
    "render_query",
    "spec",
    "to_query_result",
    "to_query_set",
]


class PrometheusConfig(BaseModel):
    """Settings for pulling from Prometheus."""

    url: str = Field(description="Base URL of the Prometheus HTTP API, e.g. http://prometheus:9090.")
    queries_file: Path | None = Field(
        default=None, description="YAML file: `step_s` and `queries: {name: PromQL with {service}}`."
    )
    queries: dict[str, str] | None = Field(
        default=None,
        description="PromQL per name with a {service} placeholder, instead of the built-in set (file wins).",
    )
    service_label: str = Field(
        default="job", description="The label naming the service in the built-in queries (job, service, app)."
    )
    step_s: float = Field(
        default=15.0, gt=0, description="Query resolution in seconds (a query file's wins)."
    )
    bearer_token: SecretStr | None = Field(default=None, description="Sent as `Authorization: Bearer`.")
    timeout_s: float = Field(default=10.0, gt=0, description="Per-query HTTP timeout in seconds.")
    max_services: int = Field(
        default=200, ge=1, description="Services pulled per investigation window, at most."
    )


def create_source(config: PrometheusConfig) -> PrometheusTelemetrySource:
    """Return a telemetry source for `config`, its queries (file, inline, or built-in) checked now."""
    if config.queries_file is not None:
        try:
            text = config.queries_file.read_text()
        except OSError as exc:
            raise PrometheusConfigError(f"{config.queries_file}: cannot read: {exc}") from exc
        queries = parse_query_config(text, source=str(config.queries_file))
    elif config.queries is not None:
        queries = to_query_set(config.queries, config.step_s, source="prometheus.queries")
    else:
        queries = QuerySet(queries=default_queries(config.service_label), step_s=config.step_s)
    token = config.bearer_token.get_secret_value() if config.bearer_token else None
    client = PrometheusClient(config.url, timeout_s=config.timeout_s, bearer_token=token)
    return PrometheusTelemetrySource(client, queries)


def probe(config: PrometheusConfig) -> str:
    """Ask the configured Prometheus for its build info; raise PrometheusQueryError if it does not answer."""
    source = create_source(config)
    try:
        version = source.check()
    finally:
        source.close()
    return (
        f"Prometheus {version} at {source.client.base_url}: {len(source.queries.queries)} queries per service"
    )


spec = ConnectorSpec(
    name="prometheus",
    summary="Prometheus HTTP API query_range: per-service PromQL series pulled for an investigation window.",
    capabilities=frozenset({Capability.TELEMETRY_SOURCE}),
    config=PrometheusConfig,
    factory=create_source,
    docs="docs/connectors/prometheus.md",
    samples=Path(__file__).parent / "samples",
    needs_config=True,
    probe=probe,
)
