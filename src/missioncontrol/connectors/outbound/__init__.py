"""Outbound HTTP delivery for notifiers, the pager and runbook HTTP actions (allow-list, retries)."""

from missioncontrol.connectors.outbound.client import METADATA_HOSTS, HttpOutbound, check_url, retry_after_s

__all__ = ["METADATA_HOSTS", "HttpOutbound", "check_url", "retry_after_s"]
