"""Map CDEvents `service.deployed` / `upgraded` / `rolledback` to domain changes. Pure; no I/O.

A CDEvent is `{"context": {...}, "subject": {...}}` (spec v0.1-v0.4 alike for these fields); it may
arrive bare, inside a CloudEvents structured envelope (`{"specversion": ..., "data": <CDEvent>}`), or
as a JSON array of either. An Argo CD notification template can emit the same JSON. The service is
the subject id with a workload kind prefix removed (`service/cart` → `cart`), else the artifact's
purl name; the description names the artifact, its version and the environment.
"""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from missioncontrol.domain import Change, ChangeKind, ServiceId
from missioncontrol.domain.rejections import Rejection
from missioncontrol.domain.timestamps import parse_storable_utc

_TYPE = re.compile(r"^dev\.cdevents\.service\.(?P<predicate>[a-z]+)\.\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?$")
VERB = {"deployed": "deployed", "upgraded": "upgraded to", "rolledback": "rolled back to"}
# Subject id prefixes that name a workload kind rather than the service (spec examples: service/myapp).
KIND_PREFIXES = ("service/", "services/", "deployment/", "deployments/", "daemonset/", "statefulset/", "app/")
_PURL = re.compile(r"^pkg:(?P<type>[^/]+)/(?P<path>[^@?#]+)(?:@(?P<version>[^?#]+))?")


class _Bad(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def parse_time(value: Any, field: str) -> datetime:
    """Return a tz-aware UTC datetime from an RFC 3339 string."""
    if not isinstance(value, str) or not value:
        raise _Bad(field, "is missing (an RFC 3339 timestamp)")
    try:
        return parse_storable_utc(value, form="RFC 3339")
    except ValueError as exc:  # what is wrong with it, or one the stores cannot hold
        raise _Bad(field, str(exc)) from None


def parse_purl(purl: str) -> tuple[str, str]:
    """Return (name, version) of a package URL; (purl, "") when it is not one."""
    match = _PURL.match(purl)
    if match is None:
        return purl, ""
    return unquote(match["path"].rsplit("/", 1)[-1]), unquote(match["version"] or "")


def service_of(subject_id: str, artifact_id: str) -> str:
    """Return the service a CDEvents service subject names."""
    name = subject_id.strip()
    for prefix in KIND_PREFIXES:
        if name.startswith(prefix):
            return name.removeprefix(prefix)
    if name:
        return name
    return parse_purl(artifact_id)[0] if artifact_id else ""


def to_change(event: Any) -> Change | None:
    """Map one CDEvent to a change; None for a service event that changes nothing (removed, published)."""
    if not isinstance(event, Mapping):
        raise _Bad("", f"must be a JSON object, not {type(event).__name__}")
    if "data" in event and "specversion" in event:  # CloudEvents structured mode
        event = event["data"]
        if not isinstance(event, Mapping):
            raise _Bad("data", "must be the CDEvent object")
    context, subject = event.get("context"), event.get("subject")
    if not isinstance(context, Mapping):
        raise _Bad("context", "is missing")
    if not isinstance(subject, Mapping):
        raise _Bad("subject", "is missing")
    kind = context.get("type")
    match = _TYPE.match(kind) if isinstance(kind, str) else None
    if match is None:
        raise _Bad("context.type", f"{kind!r} is not a dev.cdevents.service.<predicate>.<version> event")
    predicate = match["predicate"]
    if predicate not in VERB:
        return None
    content = subject.get("content")
    if not isinstance(content, Mapping):
        raise _Bad("subject.content", "is missing")
    artifact = content.get("artifactId")
    if not isinstance(artifact, str) or not artifact:
        raise _Bad("subject.content.artifactId", "is missing (the spec requires it)")
    subject_id = subject.get("id")
    service = service_of(subject_id if isinstance(subject_id, str) else "", artifact)
    if not service:
        raise _Bad("subject.id", "is missing and subject.content.artifactId names no package")
    environment = content.get("environment")
    env = ""
    if isinstance(environment, Mapping):
        env = str(environment.get("name") or environment.get("id") or "")
    name, version = parse_purl(artifact)
    what = f"{name}@{version}" if version else name
    description = f"{VERB[predicate]} {what}" + (f" in {env}" if env else "") + f" ({artifact})"
    return Change(
        service=ServiceId(service),
        kind=ChangeKind.DEPLOY,
        at=parse_time(context.get("timestamp"), "context.timestamp"),
        description=description[0].upper() + description[1:],
    )


def to_changes(payload: Any) -> tuple[list[Change], list[Rejection]]:
    """Map one CDEvent, or a JSON array of them, to changes; each bad event is rejected alone."""
    events = payload if isinstance(payload, list) else [payload]
    changes: list[Change] = []
    rejections: list[Rejection] = []
    for i, event in enumerate(events):
        where = f"[{i}]" if isinstance(payload, list) else "$"
        try:
            change = to_change(event)
        except _Bad as bad:
            rejections.append(Rejection(f"{where}.{bad.field}" if bad.field else where, bad.reason))
            continue
        if change is not None:
            changes.append(change)
    return changes, rejections
