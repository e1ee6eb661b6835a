"""Post a brief to a Slack incoming webhook (`ports.Notifier`) through the outbound port."""

import json

from missioncontrol.connectors.slack.mapping import message_problems, to_message
from missioncontrol.domain import Brief
from missioncontrol.domain.respond import DeliveryResult, OutboundRequest
from missioncontrol.ports import OutboundHttp


class SlackNotifier:
    """`ports.Notifier` for a Slack incoming webhook; the message is checked against Block Kit limits."""

    name = "slack"

    def __init__(self, webhook_url: str, *, outbound: OutboundHttp, brief_url: str = "") -> None:
        self.webhook_url = webhook_url
        self.outbound = outbound
        self.brief_url = brief_url  # e.g. "https://mc.example.com/incidents/{incident_id}"

    def notify(self, brief: Brief) -> DeliveryResult:
        """Post the brief; a message over Slack's limits is not sent and the result says why."""
        link = self.brief_url.replace("{incident_id}", brief.incident_id) if self.brief_url else ""
        message = to_message(brief, link=link)
        problems = message_problems(message)
        if problems:
            return DeliveryResult(is_delivered=False, url=self.webhook_url, error="; ".join(problems))
        body = json.dumps(message, ensure_ascii=False).encode()
        return self.outbound.send(OutboundRequest(method="POST", url=self.webhook_url, body=body))
