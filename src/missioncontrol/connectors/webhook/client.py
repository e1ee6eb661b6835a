"""POST the generic brief document to a configured URL (`ports.Notifier`), through the outbound port."""

import json

from missioncontrol.connectors.webhook.mapping import to_payload
from missioncontrol.domain import Brief
from missioncontrol.domain.respond import DeliveryResult, OutboundRequest
from missioncontrol.ports import OutboundHttp


class WebhookNotifier:
    """`ports.Notifier` for any JSON receiver; an `X-MissionControl-Event` header names the event."""

    name = "webhook"

    def __init__(self, url: str, *, outbound: OutboundHttp, brief_url: str = "") -> None:
        self.url = url
        self.outbound = outbound
        self.brief_url = brief_url

    def notify(self, brief: Brief) -> DeliveryResult:
        """POST the brief as JSON."""
        link = self.brief_url.replace("{incident_id}", brief.incident_id) if self.brief_url else ""
        body = json.dumps(to_payload(brief, link=link), ensure_ascii=False).encode()
        headers = (("content-type", "application/json"), ("x-missioncontrol-event", "brief"))
        return self.outbound.send(OutboundRequest(method="POST", url=self.url, body=body, headers=headers))
