"""Generic JSON webhook: the brief as a stable snake_case document (docs/connectors/webhook.md)."""

from pathlib import Path

from missioncontrol.connectors.webhook.client import WebhookNotifier
from missioncontrol.connectors.webhook.mapping import SCHEMA, to_payload
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = ["SCHEMA", "WebhookNotifier", "spec", "to_payload"]

spec = ConnectorSpec(
    name="webhook",
    summary="Briefs as a generic JSON document to any URL (MISSIONCONTROL_NOTIFY_WEBHOOK_URL).",
    capabilities=frozenset({Capability.NOTIFIER}),
    docs="docs/connectors/webhook.md",
    samples=Path(__file__).parent / "samples",
)
