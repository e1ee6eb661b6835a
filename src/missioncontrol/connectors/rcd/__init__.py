"""The RCD Sock Shop dataset (Ikram et al., NeurIPS 2022): 50 metric-only fault-injection runs."""

from missioncontrol.connectors.rcd.mapping import lay_out, sampling_step, split_column
from missioncontrol.connectors.rcd.source import RcdSource
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = ["RcdSource", "lay_out", "sampling_step", "spec", "split_column"]


spec = ConnectorSpec(
    name="rcd",
    summary="The RCD Sock Shop fault-injection dataset as labelled cases.",
    capabilities=frozenset({Capability.CASE_SOURCE}),
    docs="docs/connectors/rcd.md",
)
