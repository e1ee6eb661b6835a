"""Slack: the brief as a Block Kit message on an incoming webhook (docs/connectors/slack.md)."""

from pathlib import Path

from missioncontrol.connectors.slack.client import SlackNotifier
from missioncontrol.connectors.slack.mapping import message_problems, to_message
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = ["SlackNotifier", "message_problems", "spec", "to_message"]

spec = ConnectorSpec(
    name="slack",
    summary="Briefs to a Slack channel: incoming webhook, Block Kit (MISSIONCONTROL_SLACK_WEBHOOK_URL).",
    capabilities=frozenset({Capability.NOTIFIER}),
    docs="docs/connectors/slack.md",
    samples=Path(__file__).parent / "samples",
)
