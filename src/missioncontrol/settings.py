"""Settings: the only reader of the environment (prefix `MISSIONCONTROL_`)."""

from pathlib import Path

from pydantic import Field, SecretStr
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
    workers: int = Field(default=4, ge=1, le=64, description="Analyzer threads per investigation.")
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
    investigation_workers: int = Field(
        default=2, ge=1, le=32, description="Investigations that may run at once in the background."
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

    def telemetry_path(self) -> Path:
        """Return where the embedded chDB telemetry store keeps its files."""
        return self.state_dir / "telemetry"

    def state_database_url(self) -> str:
        """Return the state store's URL: the configured one, or SQLite under the state directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'state.db').resolve()}"
