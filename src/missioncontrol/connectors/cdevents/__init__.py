"""CDEvents: `service.deployed`, `service.upgraded` and `service.rolledback` events as domain changes.

changes, rejections = to_changes(json.loads(body))
"""

from pathlib import Path

from pydantic import BaseModel

from missioncontrol.connectors.cdevents.mapping import to_change, to_changes
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = ["CdEventsConfig", "spec", "to_change", "to_changes"]


class CdEventsConfig(BaseModel):
    """CDEvents needs no settings: pipelines (or an Argo CD notification template) POST events to us."""


spec = ConnectorSpec(
    name="cdevents",
    summary="CDEvents service.deployed / upgraded / rolledback into the change log.",
    capabilities=frozenset({Capability.CHANGE_SOURCE}),
    config=CdEventsConfig,
    docs="docs/connectors/cdevents.md",
    samples=Path(__file__).parent / "samples",
)
