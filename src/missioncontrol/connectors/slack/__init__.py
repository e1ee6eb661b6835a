"""Slack: the brief as a Block Kit message on an incoming webhook (docs/connectors/slack.md)."""

from missioncontrol.connectors.slack.client import SlackNotifier
from missioncontrol.connectors.slack.mapping import message_problems, to_message

__all__ = ["SlackNotifier", "message_problems", "to_message"]
