"""The service catalog: who owns a service, what it belongs to, what it declares it depends on."""

from dataclasses import dataclass
from datetime import datetime

from missioncontrol.domain.ids import ServiceId


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One service as a catalog (Backstage `Component`) declares it.

    `owner` is the owning team's name (Backstage `spec.owner` without its `group:` prefix); `tier` is the
    service tier from an annotation (e.g. "1" for the most critical), empty when not declared.
    """

    service: ServiceId
    owner: str = ""
    system: str = ""
    lifecycle: str = ""
    tier: str = ""
    depends_on: tuple[ServiceId, ...] = ()
    description: str = ""
    observed_at: datetime | None = None  # when the catalog said so; the world model keeps history


@dataclass(frozen=True, slots=True)
class Team:
    """A team (Backstage `Group`) and how to reach whoever is on call for it."""

    name: str
    display_name: str = ""
    email: str = ""
    slack_channel: str = ""
    pagerduty_service: str = ""
    members: tuple[str, ...] = ()
