"""Map Backstage `catalog-info.yaml` descriptors to catalog entries and teams. Pure; no I/O.

One file may hold many YAML documents. `Component` → `CatalogEntry` (owner without its `group:`
prefix, system, lifecycle, tier, `dependsOn` component refs); `Group` → `Team` (profile email, Slack
channel and PagerDuty service annotations, members); `System` lends its owner to components that
declare none. `API`, `Resource`, `Domain`, `User`, `Location` and `Template` are valid but carry
nothing we keep: they are skipped with a note. Each bad document is rejected alone, named by its
index and field.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import yaml

from missioncontrol.domain import CatalogEntry, MissionControlError, ServiceId, Team
from missioncontrol.domain.rejections import Rejection

TIER_KEYS = ("missioncontrol.io/tier", "tier")  # annotation first, then the common `tier` label
SLACK_ANNOTATIONS = ("missioncontrol.io/slack-channel", "slack.com/channel", "slack.com/channel-name")
PAGERDUTY_ANNOTATION = "pagerduty.com/service-id"
SKIPPED_KINDS = frozenset({"API", "Resource", "Domain", "User", "Location", "Template"})


class CatalogFormatError(MissionControlError):
    """The catalog file is not YAML at all; the message names the line."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """What one or more catalog files declare."""

    entries: tuple[CatalogEntry, ...] = ()
    teams: tuple[Team, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    notes: tuple[str, ...] = field(default=())  # documents skipped on purpose, and why


class _Bad(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def entity_name(ref: str) -> str:
    """Return the name of an entity ref: `group:default/payments` → `payments`."""
    _, _, rest = ref.rpartition(":")
    return rest.rsplit("/", 1)[-1].strip()


def _ref_kind(ref: str, default: str) -> str:
    kind, sep, _ = ref.partition(":")
    return kind.strip().lower() if sep else default


def _str(mapping: Mapping[str, Any], key: str, field: str, *, required: bool = False) -> str:
    value = mapping.get(key)
    if value is None or value == "":
        if required:
            raise _Bad(field, "is missing")
        return ""
    if not isinstance(value, str | int | float):
        raise _Bad(field, f"must be a string, not {type(value).__name__}")
    return str(value)


def _map(mapping: Mapping[str, Any], key: str, field: str) -> Mapping[str, Any]:
    value = mapping.get(key) or {}
    if not isinstance(value, Mapping):
        raise _Bad(field, f"must be a mapping, not {type(value).__name__}")
    return value


def _component(metadata: Mapping[str, Any], spec: Mapping[str, Any], at: datetime | None) -> CatalogEntry:
    annotations = _map(metadata, "annotations", "metadata.annotations")
    labels = _map(metadata, "labels", "metadata.labels")
    tier = ""
    for key in TIER_KEYS:
        tier = str(annotations.get(key) or labels.get(key) or "")
        if tier:
            break
    depends = spec.get("dependsOn") or []
    if not isinstance(depends, list):
        raise _Bad("spec.dependsOn", f"must be a list of entity refs, not {type(depends).__name__}")
    services = []
    for i, ref in enumerate(depends):
        if not isinstance(ref, str) or not ref.strip():
            raise _Bad(f"spec.dependsOn[{i}]", f"must be an entity ref like 'component:cart', not {ref!r}")
        if _ref_kind(ref, "component") == "component":
            services.append(ServiceId(entity_name(ref)))
    return CatalogEntry(
        service=ServiceId(_str(metadata, "name", "metadata.name", required=True)),
        owner=entity_name(_str(spec, "owner", "spec.owner")),
        system=entity_name(_str(spec, "system", "spec.system")),
        lifecycle=_str(spec, "lifecycle", "spec.lifecycle"),
        tier=tier,
        depends_on=tuple(services),
        description=_str(metadata, "description", "metadata.description"),
        observed_at=at,
    )


def _group(metadata: Mapping[str, Any], spec: Mapping[str, Any]) -> Team:
    annotations = _map(metadata, "annotations", "metadata.annotations")
    profile = _map(spec, "profile", "spec.profile")
    members = spec.get("members") or []
    if not isinstance(members, list):
        raise _Bad("spec.members", f"must be a list of user refs, not {type(members).__name__}")
    slack = next((str(annotations[k]) for k in SLACK_ANNOTATIONS if annotations.get(k)), "")
    return Team(
        name=_str(metadata, "name", "metadata.name", required=True),
        display_name=_str(profile, "displayName", "spec.profile.displayName"),
        email=_str(profile, "email", "spec.profile.email"),
        slack_channel=slack,
        pagerduty_service=str(annotations.get(PAGERDUTY_ANNOTATION) or ""),
        members=tuple(entity_name(str(m)) for m in members),
    )


def parse_catalog(text: str, *, at: datetime | None = None, source: str = "catalog-info.yaml") -> Catalog:
    """Return the components, groups and rejections of a (multi-document) catalog-info.yaml.

    Raises `CatalogFormatError` only when the text is not YAML; a bad document is a rejection.
    """
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        raise CatalogFormatError(
            f"{source}: not YAML ({where}): {getattr(error, 'problem', error)}"
        ) from None
    entries: list[CatalogEntry] = []
    teams: list[Team] = []
    rejections: list[Rejection] = []
    notes: list[str] = []
    system_owner: dict[str, str] = {}
    for index, doc in enumerate(documents):
        if doc is None:
            continue  # an empty document between `---` separators
        name = doc.get("metadata", {}).get("name", "?") if isinstance(doc, Mapping) else "?"
        kind = doc.get("kind") if isinstance(doc, Mapping) else None
        where = f"{source} document {index} ({kind or '?'} {name!r})"
        try:
            if not isinstance(doc, Mapping):
                raise _Bad("", f"must be a mapping, not {type(doc).__name__}")
            if not isinstance(kind, str) or not kind:
                raise _Bad("kind", "is missing")
            metadata = _map(doc, "metadata", "metadata")
            spec = _map(doc, "spec", "spec")
            if kind == "Component":
                entries.append(_component(metadata, spec, at))
            elif kind == "Group":
                teams.append(_group(metadata, spec))
            elif kind == "System":
                system = _str(metadata, "name", "metadata.name", required=True)
                system_owner[system] = entity_name(_str(spec, "owner", "spec.owner"))
            elif kind in SKIPPED_KINDS:
                notes.append(f"{where}: skipped: {kind} carries nothing Mission Control keeps")
            else:
                raise _Bad("kind", f"{kind!r} is not a Backstage kind")
        except _Bad as bad:
            rejections.append(Rejection(f"{where}: {bad.field}" if bad.field else where, bad.reason))
    entries = [
        replace(e, owner=system_owner.get(e.system, "")) if not e.owner and e.system in system_owner else e
        for e in entries
    ]
    return Catalog(
        entries=tuple(entries), teams=tuple(teams), rejections=tuple(rejections), notes=tuple(notes)
    )
