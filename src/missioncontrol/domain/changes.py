"""Changes: deploys, config edits, flag flips and model/prompt versions."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from missioncontrol.domain.ids import ServiceId


class ChangeKind(StrEnum):
    DEPLOY = "deploy"
    CONFIG = "config"
    FEATURE_FLAG = "feature_flag"
    MODEL_VERSION = "model_version"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Change:
    service: ServiceId
    kind: ChangeKind
    at: datetime  # tz-aware, UTC
    description: str = ""
