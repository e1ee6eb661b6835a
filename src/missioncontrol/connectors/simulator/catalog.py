"""The simulated estate's service catalog, as the estate's own Backstage `catalog-info.yaml`.

    text = estate_catalog_yaml(estate)      # Group, System and Component documents, multi-document YAML

A real estate keeps these files next to its code; Mission Control reads them through the `backstage`
connector. Each service is a `Component` (`spec.owner`, `spec.system` = its domain, `spec.lifecycle`,
`spec.dependsOn` = the services it calls, the `missioncontrol.io/tier` annotation); each domain a
`System` owned by its team; each team a `Group` with its on-call contacts in the conventions the
shipped response policy uses (`<team>-oncall@example.com`, `#<team>-oncall`), so the catalog's owner
of a suspect is a team the policy can page. Deterministic and pure: the same estate, the same text.
"""

from collections.abc import Mapping
from typing import Any

import yaml

from missioncontrol.connectors.simulator.estate import Estate, ServiceKind, ServiceProfile
from missioncontrol.domain import ServiceId

TIER_ANNOTATION = "missioncontrol.io/tier"
SLACK_ANNOTATION = "slack.com/channel"
PAGERDUTY_ANNOTATION = "pagerduty.com/service-id"
NAMESPACE = "default"

# Service tiers as an organisation rates them (1 = an outage loses money or every request), not the
# call depth: the edge, shared hubs and the money path are tier 1; back-office domains tier 3.
TIER_1_DOMAINS = frozenset({"checkout", "cart", "payments", "billing", "ledger", "orders", "accounts"})
TIER_3_DOMAINS = frozenset(
    {"analytics", "reporting", "reviews", "wishlist", "ads", "recommendations", "content", "media", "support"}
)
# Teams with a PagerDuty service of their own (the sample policy gives payments its own routing key).
PAGERDUTY_SERVICES = {"payments": "PPAYMNT"}
COMPONENT_TYPES = {
    ServiceKind.API: "service",
    ServiceKind.DB: "database",
    ServiceKind.CACHE: "cache",
    ServiceKind.QUEUE: "queue",
}


def service_tier(profile: ServiceProfile) -> str:
    """Return the catalog tier of a service: "1" (critical), "2" or "3" (back office)."""
    if profile.tier == 0 or profile.is_hub or profile.domain in TIER_1_DOMAINS:
        return "1"
    return "3" if profile.domain in TIER_3_DOMAINS else "2"


def team_contacts(team: str) -> tuple[str, str]:
    """Return a team's on-call e-mail and Slack channel, in the sample policy's conventions."""
    return f"{team}-oncall@example.com", f"#{team}-oncall"


def estate_catalog(estate: Estate) -> list[dict[str, Any]]:
    """Return the estate's catalog as Backstage entity documents: Groups, then Systems, then Components."""
    profiles = estate.profiles
    teams = sorted({p.team for p in profiles.values()})
    systems: dict[str, str] = {}
    for service in estate.services:  # a system belongs to the team owning its first service
        systems.setdefault(_system(profiles[service]), profiles[service].team)
    return [
        *(_group(team) for team in teams),
        *(_system_entity(system, owner) for system, owner in sorted(systems.items())),
        *(_component(estate, service, profiles) for service in estate.services),
    ]


def estate_catalog_yaml(estate: Estate) -> str:
    """Return the estate's catalog as one multi-document catalog-info.yaml."""
    return yaml.safe_dump_all(estate_catalog(estate), sort_keys=False)


def _system(profile: ServiceProfile) -> str:
    return "edge" if profile.tier == 0 else profile.domain


def _ref(kind: str, name: str) -> str:
    return f"{kind}:{NAMESPACE}/{name}"


def _group(team: str) -> dict[str, Any]:
    email, channel = team_contacts(team)
    annotations = {SLACK_ANNOTATION: channel}
    if team in PAGERDUTY_SERVICES:
        annotations[PAGERDUTY_ANNOTATION] = PAGERDUTY_SERVICES[team]
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": team, "description": f"The {team} team.", "annotations": annotations},
        "spec": {
            "type": "team",
            "profile": {"displayName": team.capitalize(), "email": email},
            "children": [],
        },
    }


def _system_entity(system: str, owner: str) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "System",
        "metadata": {"name": system},
        "spec": {"owner": _ref("group", owner)},
    }


def _component(
    estate: Estate, service: ServiceId, profiles: Mapping[ServiceId, ServiceProfile]
) -> dict[str, Any]:
    profile = profiles[service]
    spec: dict[str, Any] = {
        "type": COMPONENT_TYPES[profile.kind],
        "lifecycle": "production",
        "owner": _ref("group", profile.team),
        "system": _system(profile),
    }
    callees = estate.graph.callees(service)
    if callees:
        spec["dependsOn"] = [_ref("component", c) for c in callees]
    kind = "entry point" if profile.tier == 0 else profile.kind.value
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": str(service),
            "description": f"{service}: {kind} of the {_system(profile)} system",
            "annotations": {TIER_ANNOTATION: service_tier(profile)},
        },
        "spec": spec,
    }
