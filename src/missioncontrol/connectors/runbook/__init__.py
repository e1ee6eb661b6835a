"""Runbook actions declared in the policy: argv commands (no shell, timeout) and HTTP calls."""

from missioncontrol.connectors.runbook.client import RunbookRunner
from missioncontrol.connectors.runbook.mapping import render, to_argv, to_http

__all__ = ["RunbookRunner", "render", "to_argv", "to_http"]
