"""Backstage mapping: a multi-document catalog-info.yaml with Component, System, Group, API and Resource."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from missioncontrol.connectors.backstage import CatalogFormatError, entity_name, parse_catalog
from missioncontrol.domain import CatalogEntry, ServiceId, Team

SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "missioncontrol"
    / "connectors"
    / "backstage"
    / "samples"
    / "catalog-info.yaml"
)
AT = datetime(2026, 12, 2, 9, 12, tzinfo=UTC)


def test_components_groups_and_systems_map_to_entries_and_teams() -> None:
    catalog = parse_catalog(SAMPLE.read_text(), at=AT)
    assert catalog.rejections == ()
    web, lookup = catalog.entries
    assert web == CatalogEntry(
        service=ServiceId("artist-web"),
        owner="team-b",
        system="artist-engagement-portal",
        lifecycle="production",
        tier="1",
        depends_on=(ServiceId("artist-lookup"),),  # the resource ref is not a service
        description="The place to be, for great artists",
        observed_at=AT,
    )
    assert lookup.owner == "team-b"  # no owner of its own: its system's
    assert lookup.tier == "2"  # from the common `tier` label
    assert catalog.teams == (
        Team(
            name="team-b",
            display_name="Team B",
            email="team-b@example.com",
            slack_channel="#team-b-oncall",
            pagerduty_service="PABC123",
            members=("breanna.davison", "janelle.dawe"),
        ),
    )
    assert [n.split(": ")[0] for n in catalog.notes] == [
        "catalog-info.yaml document 4 (API 'artist-api')",
        "catalog-info.yaml document 5 (Resource 'artists-db')",
    ]


def test_a_bad_document_is_rejected_by_index_and_field_and_the_rest_kept() -> None:
    text = SAMPLE.read_text() + "\n---\nkind: Component\nmetadata: {name: broken}\nspec: {dependsOn: [7]}\n"
    text += "---\nkind: Component\nmetadata: {description: no name}\n---\nkind: Gadget\nmetadata: {name: g}\n"
    catalog = parse_catalog(text, source="repo/catalog-info.yaml")
    assert len(catalog.entries) == 2
    assert [(r.where, r.reason) for r in catalog.rejections] == [
        (
            "repo/catalog-info.yaml document 6 (Component 'broken'): spec.dependsOn[0]",
            "must be an entity ref like 'component:cart', not 7",
        ),
        ("repo/catalog-info.yaml document 7 (Component '?'): metadata.name", "is missing"),
        ("repo/catalog-info.yaml document 8 (Gadget 'g'): kind", "'Gadget' is not a Backstage kind"),
    ]


def test_text_that_is_not_yaml_names_the_line() -> None:
    with pytest.raises(CatalogFormatError, match=r"not YAML \(line 2\)"):
        parse_catalog("kind: Component\n  bad: : x\n")


@pytest.mark.parametrize(
    ("ref", "name"),
    [("group:default/team-b", "team-b"), ("team-b", "team-b"), ("user:jo", "jo"), ("a/b", "b")],
)
def test_entity_refs_lose_kind_and_namespace(ref: str, name: str) -> None:
    assert entity_name(ref) == name
