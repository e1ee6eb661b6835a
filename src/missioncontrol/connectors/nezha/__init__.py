"""The Nezha dataset (Yu et al., FSE 2023): Train Ticket and Online Boutique faults, multi-modal."""

from missioncontrol.connectors.nezha.alerting import Direction, SliCheck, SliRule, first_breach
from missioncontrol.connectors.nezha.mapping import service_of_pod
from missioncontrol.connectors.nezha.source import FRONT_DOOR_RULE, NezhaSource
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = [
    "FRONT_DOOR_RULE",
    "Direction",
    "NezhaSource",
    "SliCheck",
    "SliRule",
    "first_breach",
    "service_of_pod",
    "spec",
]


spec = ConnectorSpec(
    name="nezha",
    summary="The Nezha fault-injection dataset (Train Ticket, Online Boutique) as labelled cases.",
    capabilities=frozenset({Capability.CASE_SOURCE}),
    docs="docs/connectors/nezha.md",
)
