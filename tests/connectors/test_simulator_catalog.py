"""The simulated estate's Backstage catalog: it parses through the real `backstage` mapping, says what the
estate is (owners, dependencies, systems, tiers), and its teams are the sample policy's teams."""

import pytest
import yaml

from missioncontrol import bootstrap
from missioncontrol.connectors.backstage import parse_catalog
from missioncontrol.connectors.policyfile import SAMPLE_POLICY, read_policy
from missioncontrol.connectors.simulator import (
    demo_case,
    demo_estate,
    estate_catalog_yaml,
    generate_estate,
    names,
)
from missioncontrol.domain import TimeMode


@pytest.mark.parametrize(("n_services", "seed"), [(24, 7), (200, 5)])
def test_the_catalog_parses_with_the_backstage_mapping_and_matches_the_estate(
    n_services: int, seed: int
) -> None:
    estate = generate_estate(n_services, seed=seed)
    text = estate_catalog_yaml(estate)

    catalog = parse_catalog(text, source="simulated catalog-info.yaml")

    assert catalog.rejections == () and catalog.notes == ()
    entries = {e.service: e for e in catalog.entries}
    assert set(entries) == set(estate.services)
    for service, entry in entries.items():
        profile = estate.profiles[service]
        assert entry.owner == profile.team
        assert entry.depends_on == estate.graph.callees(service)
        assert entry.lifecycle == "production"
        assert entry.tier in {"1", "2", "3"}
        assert entry.system
    assert all(entries[s].tier == "1" for s in estate.entry_points)
    assert {t.name for t in catalog.teams} == set(estate.teams.values())
    for team in catalog.teams:
        assert team.email == f"{team.name}-oncall@example.com"
        assert team.slack_channel == f"#{team.name}-oncall"
    # Every document is a Backstage entity with the fields Backstage itself requires.
    for doc in yaml.safe_load_all(text):
        assert doc["apiVersion"] == "backstage.io/v1alpha1"
        assert doc["metadata"]["name"]
        if doc["kind"] == "Component":
            assert {"type", "lifecycle", "owner"} <= set(doc["spec"])
            assert doc["spec"]["owner"].startswith("group:default/")
        if doc["kind"] == "Group":
            assert doc["spec"]["type"] == "team" and doc["spec"]["children"] == []


def test_the_catalog_is_deterministic() -> None:
    assert estate_catalog_yaml(generate_estate(50, seed=3)) == estate_catalog_yaml(
        generate_estate(50, seed=3)
    )


def test_every_team_an_estate_can_name_is_a_sample_policy_team_with_the_same_contacts() -> None:
    policy = read_policy(SAMPLE_POLICY)
    for team in names.TEAMS:
        on_call = policy.team(team)
        assert on_call is not None, f"the sample policy has no team {team!r}"
        assert on_call.contacts == (f"{team}-oncall@example.com",)
        assert on_call.slack_channel == f"#{team}-oncall"


def test_the_demo_suspect_and_its_symptom_belong_to_different_teams() -> None:
    """What makes the demo's "page the suspect's team, not the symptom's" visible at all."""
    labeled = demo_case(time_mode=TimeMode.FOUND)
    assert labeled.truth is not None and labeled.case.alert is not None
    entries = {e.service: e for e in parse_catalog(bootstrap.the_demo_catalog()).entries}
    cause, symptom = labeled.truth.service, labeled.case.alert.service
    assert symptom is not None
    assert entries[cause].owner == demo_estate().teams[cause] == "pricing"
    assert entries[symptom].owner == "storefront"
