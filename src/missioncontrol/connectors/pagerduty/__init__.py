"""PagerDuty: outbound Events API v2 pages (events.py, client.py); inbound mapping lives beside them."""

from missioncontrol.connectors.pagerduty.client import PagerDutyPager
from missioncontrol.connectors.pagerduty.events import EVENTS_URL, dedup_key, event_problems, to_event

__all__ = ["EVENTS_URL", "PagerDutyPager", "dedup_key", "event_problems", "to_event"]
