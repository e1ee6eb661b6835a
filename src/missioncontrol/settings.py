"""Settings: the only reader of the environment (prefix `MISSIONCONTROL_`)."""

from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_root() -> Path | None:
    """Return `../shared/datasets` (from the working directory) where it exists, else None."""
    candidate = Path.cwd().parent / "shared" / "datasets"
    return candidate if candidate.is_dir() else None


class Settings(BaseSettings):
    """Everything Mission Control can be told from outside, validated once at start-up."""

    model_config = SettingsConfigDict(env_prefix="MISSIONCONTROL_", extra="ignore")

    data_root: Path | None = Field(
        default_factory=default_data_root,
        description="Root folder of the benchmark datasets (nezha/, rcd-sockshop/).",
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Analyzer threads per diagnosis (1 runs them inline: fastest under the GIL).",
    )
    state_dir: Path = Field(
        default=Path(".missioncontrol"),
        description="Where the embedded defaults keep their files: SQLite state and chDB telemetry.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the state store, e.g. postgresql+psycopg://user@127.0.0.1:5432/mc. "
            "Unset: SQLite at STATE_DIR/state.db."
        ),
    )

    api_tokens: list[SecretStr] = Field(
        default_factory=list,
        description=(
            'Bearer tokens accepted by the API (JSON list, e.g. \'["t1","t2"]\'). Unset: `serve` keeps '
            "one generated token in STATE_DIR/api-token."
        ),
    )
    webhook_hmac_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Optional shared secret for HMAC-SHA256 signed request bodies (header "
            "X-MissionControl-Signature: t=<unix seconds>,v1=<hex>), accepted instead of a bearer token."
        ),
    )
    webhook_replay_window_s: int = Field(
        default=300, ge=1, le=3600, description="How old a signed request's timestamp may be, in seconds."
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body an ingest route accepts (413 above)."
    )
    ingest_queue_alerts: int = Field(
        default=20_000,
        ge=1,
        description="Alerts waiting for the durable commit before ingest sheds with 503.",
    )
    max_inflight_ingest: int = Field(
        default=64,
        ge=1,
        description="Ingest requests served at once; past it, more are shed at once with 503 + Retry-After.",
    )
    investigation_workers: int = Field(
        default=2, ge=1, le=32, description="Investigations that may run at once in the background."
    )
    brief_refresh_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Least time between two refreshes of one incident's brief as alerts and telemetry come.",
    )
    run_worker: bool = Field(
        default=True,
        description=(
            "Group alerts and investigate inside `serve`. False: `serve` only ingests and serves, and "
            "`missionctl worker` (its own process, same database) groups and investigates."
        ),
    )
    worker_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description=(
            "Scheduling niceness `missionctl worker` gives its own process: on a shared host, acknowledging "
            "alerts goes first and grouping catches up after a storm. 0 keeps the default priority."
        ),
    )

    telemetry_url: SecretStr | None = Field(
        default=None,
        description=(
            "ClickHouse holding the OpenTelemetry Collector exporter's tables, read and written through "
            "clickhouse-connect, e.g. http://user:password@clickhouse:8123. Unset: embedded chDB under "
            "STATE_DIR/telemetry."
        ),
    )
    telemetry_database: str = Field(
        default="otel", pattern=r"^[A-Za-z0-9_]+$", description="ClickHouse database of the otel_* tables."
    )
    telemetry_trace_id_lookup: bool = Field(
        default=False,
        description=(
            "Embedded store: also keep the exporter's otel_traces_trace_id_ts table and view (trace-by-id "
            "lookups for Grafana's plugin, which cannot reach an in-process chDB); on, it about halves "
            "span ingest."
        ),
    )
    reference_windows: list[tuple[AwareDatetime, AwareDatetime]] = Field(
        default_factory=list,
        description=(
            "Periods known to be healthy, e.g. a fault-free reference run (JSON list of [start, end] "
            'RFC 3339 pairs, e.g. [["2023-01-28T10:00:00Z","2023-01-28T10:30:00Z"]]): every '
            "investigation also takes its baseline from the telemetry stored there."
        ),
    )
    world_lookback_s: float = Field(
        default=3600.0,
        gt=0,
        description="How far back before a time t the world model looks for calls between services.",
    )
    prometheus_url: str | None = Field(
        default=None, description="Prometheus HTTP API base URL pulled at investigation time (query_range)."
    )
    prometheus_queries: Path | None = Field(
        default=None,
        description="YAML file of PromQL queries per service ({service} placeholder); unset: built-in set.",
    )
    prometheus_query_set: dict[str, str] | None = Field(
        default=None,
        description=(
            "PromQL queries per service as a JSON object of name to query with a {service} placeholder, "
            'e.g. {"cpu_seconds_rate": "sum(rate(process_cpu_seconds_total{job=\\"{service}\\"}[1m]))"}; '
            "PROMETHEUS_QUERIES (a file) wins. Unset: the built-in set (request and error rate, p99 "
            "latency from the histogram, CPU, memory, up)."
        ),
    )
    prometheus_service_label: str = Field(
        default="job",
        pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$",
        description="Label naming the service in the built-in queries: job (OpenTelemetry), service, app.",
    )
    prometheus_step_s: float = Field(
        default=15.0,
        gt=0,
        description="Resolution of the pulled series in seconds (widened for long windows).",
    )

    web_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Key that signs the web session cookie. Unset: `serve` keeps a generated one in "
            "STATE_DIR/web-secret (sessions survive restarts)."
        ),
    )
    web_passwords: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            "Web sign-in: policy principal name -> salted PBKDF2 hash (JSON object), made with "
            "`missionctl web hash-password`. Roles and tier come from the policy's principals."
        ),
    )
    llm_base_url: str | None = Field(
        default=None,
        description="Optional OpenAI-compatible endpoint (e.g. http://127.0.0.1:8000/v1) for narratives.",
    )
    llm_model: str | None = Field(default=None, description="Model name at LLM_BASE_URL; both unset: no LLM.")
    llm_api_key: SecretStr | None = Field(
        default=None, description="API key for LLM_BASE_URL, if it needs one."
    )

    connectors: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description=(
            "Per-connector settings as a JSON object keyed by connector slug, validated by that "
            'connector\'s Config model, e.g. {"github": {"webhook_secret": "..."}}. '
            "`missionctl connectors list` shows what each connector made of them."
        ),
    )

    # respond: the policy, who is on duty, notifications and pages out
    policy_path: Path | None = Field(
        default=None,
        description="The response policy YAML (docs/policy.md). Unset: no decision in briefs, no actions.",
    )
    on_duty_tier: str = Field(
        default="", description="Tier of whoever is on duty now (a policy tier). Empty: the policy's lowest."
    )
    slack_webhook_url: SecretStr | None = Field(
        default=None, description="Slack incoming-webhook URL the brief is posted to (Block Kit)."
    )
    pagerduty_routing_key: SecretStr | None = Field(
        default=None, description="PagerDuty Events v2 integration key for teams without their own."
    )
    pagerduty_routing_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            "Routing keys by the name a policy team gives in `pagerduty_routing_key_ref` (JSON object), "
            'e.g. {"PAGERDUTY_PAYMENTS": "..."}: each team is paged on its own PagerDuty service.'
        ),
    )
    pagerduty_events_url: str = Field(
        default="https://events.pagerduty.com/v2/enqueue", description="Events API v2 endpoint."
    )
    notify_webhook_url: str | None = Field(
        default=None, description="A generic JSON webhook that receives every brief."
    )
    notify_dry_run: bool = Field(
        default=False, description="Check and log notifications, pages and HTTP actions; send nothing."
    )
    outbound_allow_hosts: list[str] = Field(
        default_factory=lambda: ["hooks.slack.com", "events.pagerduty.com", "events.eu.pagerduty.com"],
        description="Hosts (glob patterns) Mission Control may call out to; link-local/metadata never.",
    )
    outbound_allow_loopback: bool = Field(
        default=False, description="Allow 127.0.0.1/::1 receivers (tests and local dry-run receivers only)."
    )
    brief_url_template: str = Field(
        default="",
        description="Link to a brief in pages and messages: https://mc.example.com/incidents/{incident_id}",
    )
    embeddings: bool = Field(
        default=False,
        description=(
            "Blend offline MiniLM sentence embeddings into similar-incident recall (needs the `embeddings` "
            "extra). Off by default: a few hundred ms of CPU per brief, more on a busy machine."
        ),
    )

    def telemetry_path(self) -> Path:
        """Return where the embedded chDB telemetry store keeps its files."""
        return self.state_dir / "telemetry"

    def state_database_url(self) -> str:
        """Return the state store's URL: the configured one, or SQLite under the state directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'state.db').resolve()}"
