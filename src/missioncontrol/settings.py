"""Settings: the only reader of the environment (prefix `MISSIONCONTROL_`)."""

from pathlib import Path

from pydantic import Field
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

    def state_database_url(self) -> str:
        """Return the state store's URL: the configured one, or SQLite under the state directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'state.db').resolve()}"
