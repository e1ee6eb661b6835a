"""Page through PagerDuty Events API v2 (`ports.Pager`): trigger, acknowledge, resolve."""

import json

from missioncontrol.connectors.pagerduty.events import EVENTS_URL, event_problems, to_event
from missioncontrol.domain import Brief, Severity
from missioncontrol.domain.respond import DeliveryResult, OutboundRequest, PageAction
from missioncontrol.ports import OutboundHttp


class PagerDutyPager:
    """`ports.Pager` over Events v2; dedup_key = incident id, so retries never open a second alert."""

    name = "pagerduty"

    def __init__(
        self, routing_key: str, *, outbound: OutboundHttp, events_url: str = EVENTS_URL, brief_url: str = ""
    ) -> None:
        self.routing_key = routing_key
        self.outbound = outbound
        self.events_url = events_url
        self.brief_url = brief_url

    def page(
        self, brief: Brief, *, action: PageAction, severity: Severity = Severity.CRITICAL
    ) -> DeliveryResult:
        """Send the event for `action`; an event that breaks the documented shape is not sent."""
        link = self.brief_url.replace("{incident_id}", brief.incident_id) if self.brief_url else ""
        event = to_event(brief, routing_key=self.routing_key, action=action, severity=severity, link=link)
        problems = event_problems(event)
        if problems:
            return DeliveryResult(is_delivered=False, url=self.events_url, error="; ".join(problems))
        body = json.dumps(event, ensure_ascii=False).encode()
        return self.outbound.send(OutboundRequest(method="POST", url=self.events_url, body=body))
