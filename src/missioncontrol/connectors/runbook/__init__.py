"""Runbook actions declared in the policy: argv commands (no shell, timeout) and HTTP calls."""

from missioncontrol.connectors.runbook.client import RunbookRunner
from missioncontrol.connectors.runbook.mapping import render, to_argv, to_http
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = ["RunbookRunner", "render", "spec", "to_argv", "to_http"]

spec = ConnectorSpec(
    name="runbook",
    summary="Runs the policy's actions: argv commands without a shell (with a timeout) or one HTTP call.",
    capabilities=frozenset({Capability.ACTION_RUNNER}),
    docs="docs/connectors/runbook.md",
)
