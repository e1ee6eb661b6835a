"""PagerDuty: outbound Events API v2 pages (events.py, client.py); inbound mapping lives beside them."""

from pathlib import Path

from missioncontrol.connectors.pagerduty.client import PagerDutyPager
from missioncontrol.connectors.pagerduty.events import EVENTS_URL, dedup_key, event_problems, to_event
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = ["EVENTS_URL", "PagerDutyPager", "dedup_key", "event_problems", "spec", "to_event"]

spec = ConnectorSpec(
    name="pagerduty",
    summary="PagerDuty Events API v2: alerts in (webhook) and pages out (trigger, acknowledge, resolve).",
    capabilities=frozenset({Capability.ALERT_SOURCE, Capability.PAGER}),
    docs="docs/connectors/pagerduty.md",
    samples=Path(__file__).parent / "samples",
)
