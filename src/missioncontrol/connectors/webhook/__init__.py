"""Generic JSON webhook: the brief as a stable snake_case document (docs/connectors/webhook.md)."""

from missioncontrol.connectors.webhook.client import WebhookNotifier
from missioncontrol.connectors.webhook.mapping import SCHEMA, to_payload

__all__ = ["SCHEMA", "WebhookNotifier", "to_payload"]
