"""Map GitHub `deployment` and `deployment_status` webhook payloads to domain changes. Pure; no I/O.

The service is `deployment.payload.service` when the deploying workflow set one (the payload is free
JSON), else the repository's name. A `deployment` event (action `created`) records that a deploy of a
ref started; a `deployment_status` event records how it ended (`success`, `failure`, `error`). Other
states (`queued`, `pending`, `in_progress`, `inactive`) change nothing in production and are skipped.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from missioncontrol.domain import Change, ChangeKind, ServiceId
from missioncontrol.domain.rejections import Rejection
from missioncontrol.domain.timestamps import parse_storable_utc

EVENTS = ("deployment", "deployment_status")
FINAL_STATES = {"success": "succeeded", "failure": "failed", "error": "errored"}
SKIPPED_STATES = frozenset({"queued", "pending", "in_progress", "inactive"})


class _Bad(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _time(value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise _Bad(field, "is missing (an ISO 8601 timestamp)")
    try:
        return parse_storable_utc(value, form="ISO 8601")
    except ValueError as exc:  # what is wrong with it, or one the stores cannot hold
        raise _Bad(field, str(exc)) from None


def _service(payload: Mapping[str, Any], deployment: Mapping[str, Any]) -> str:
    custom = deployment.get("payload")
    if isinstance(custom, Mapping) and isinstance(custom.get("service"), str) and custom["service"]:
        return str(custom["service"])
    repository = payload.get("repository")
    if isinstance(repository, Mapping) and isinstance(repository.get("name"), str) and repository["name"]:
        return str(repository["name"])
    raise _Bad("repository.name", "is missing and deployment.payload.service is not set")


def _what(deployment: Mapping[str, Any]) -> str:
    ref = str(deployment.get("ref") or "")
    sha = str(deployment.get("sha") or "")[:12]
    env = str(deployment.get("environment") or "")
    what = f"{ref}@{sha}" if ref and sha else ref or sha or "a ref"
    return what + (f" to {env}" if env else "")


def to_change(event: str, payload: Any) -> Change | None:
    """Map one delivery (`X-GitHub-Event` and its JSON body) to a change; None if it changes nothing."""
    if event not in EVENTS:
        raise _Bad("X-GitHub-Event", f"{event!r} is not one of {', '.join(EVENTS)}")
    if not isinstance(payload, Mapping):
        raise _Bad("", f"must be a JSON object, not {type(payload).__name__}")
    deployment = payload.get("deployment")
    if not isinstance(deployment, Mapping):
        raise _Bad("deployment", "is missing")
    service = ServiceId(_service(payload, deployment))
    number = deployment.get("id", "?")
    if event == "deployment":
        if payload.get("action", "created") != "created":
            return None
        creator = deployment.get("creator")
        by = f" by {creator['login']}" if isinstance(creator, Mapping) and creator.get("login") else ""
        return Change(
            service=service,
            kind=ChangeKind.DEPLOY,
            at=_time(deployment.get("created_at"), "deployment.created_at"),
            description=f"GitHub deployment {number} of {_what(deployment)} started{by}",
        )
    status = payload.get("deployment_status")
    if not isinstance(status, Mapping):
        raise _Bad("deployment_status", "is missing")
    state = status.get("state")
    if state in SKIPPED_STATES:
        return None
    if state not in FINAL_STATES:
        raise _Bad("deployment_status.state", f"{state!r} is not a GitHub deployment state")
    note = str(status.get("description") or "").strip()
    return Change(
        service=service,
        kind=ChangeKind.DEPLOY,
        at=_time(status.get("created_at"), "deployment_status.created_at"),
        description=f"GitHub deployment {number} of {_what(deployment)} {FINAL_STATES[state]}"
        + (f": {note}" if note else ""),
    )


def to_changes(event: str, payload: Any) -> tuple[list[Change], list[Rejection]]:
    """Map one webhook delivery to zero or one change; a bad delivery is one rejection naming the field."""
    try:
        change = to_change(event, payload)
    except _Bad as bad:
        return [], [Rejection(f"$.{bad.field}" if bad.field else "$", bad.reason)]
    return ([change] if change is not None else []), []
