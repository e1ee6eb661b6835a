"""Domain changes as CDEvents `service.deployed` events: what a sender (replay, demo) POSTs. Pure.

`to_changes(to_cdevents(changes))` gives the same services and times back; the description becomes
the CDEvents one ("Deployed <artifact> in <environment> (...)") since the event carries no free text.
"""

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from missioncontrol.domain import Change

SPEC_VERSION = "0.4.1"
EVENT_TYPE = "dev.cdevents.service.deployed.0.2.0"
_VERSION = re.compile(r"\bv?(\d+(?:\.\d+)+[\w.+-]*)")


def _timestamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_cdevent(
    change: Change, *, source: str = "/missioncontrol/replay", environment: str = "production"
) -> dict[str, Any]:
    """Return the CDEvents `service.deployed` event of one change (version read from its description)."""
    found = _VERSION.search(change.description)
    version = found.group(1) if found else "unknown"
    key = f"{change.service}|{change.at.isoformat()}|{change.description}"
    event_id = hashlib.sha256(key.encode()).hexdigest()[:32]
    return {
        "context": {
            "version": SPEC_VERSION,
            "id": event_id,
            "source": source,
            "type": EVENT_TYPE,
            "timestamp": _timestamp(change.at),
        },
        "subject": {
            "id": f"service/{change.service}",
            "source": source,
            "type": "service",
            "content": {
                "environment": {"id": environment},
                "artifactId": f"pkg:oci/{quote(str(change.service))}@{quote(version)}",
            },
        },
    }


def to_cdevents(changes: Sequence[Change], **kwargs: str) -> list[dict[str, Any]]:
    """Return one `service.deployed` event per change (a JSON array the CDEvents route accepts)."""
    return [to_cdevent(c, **kwargs) for c in changes]
