"""The RCD Sock Shop dataset (Ikram et al., NeurIPS 2022): 50 metric-only fault-injection runs."""

from missioncontrol.connectors.rcd.mapping import lay_out, sampling_step, split_column
from missioncontrol.connectors.rcd.source import RcdSource

__all__ = ["RcdSource", "lay_out", "sampling_step", "split_column"]
