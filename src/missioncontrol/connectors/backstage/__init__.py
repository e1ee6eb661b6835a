"""Backstage: `catalog-info.yaml` (Component, System, Group) as catalog entries and teams.

catalog = parse_catalog(Path("catalog-info.yaml").read_text(), at=datetime.now(UTC))
catalog.entries, catalog.teams, catalog.rejections
"""

from pathlib import Path

from pydantic import BaseModel, Field

from missioncontrol.connectors.backstage.mapping import (
    Catalog,
    CatalogFormatError,
    entity_name,
    parse_catalog,
)
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = ["BackstageConfig", "Catalog", "CatalogFormatError", "entity_name", "parse_catalog", "spec"]


class BackstageConfig(BaseModel):
    """Settings for the Backstage catalog."""

    paths: list[Path] = Field(
        default_factory=list,
        description="catalog-info.yaml files (or folders) that `missionctl catalog load` reads by default.",
    )


spec = ConnectorSpec(
    name="backstage",
    summary="Backstage catalog-info.yaml (Component, System, Group): owners, tiers, dependencies, teams.",
    capabilities=frozenset({Capability.CATALOG_SOURCE}),
    config=BackstageConfig,
    docs="docs/connectors/backstage.md",
    samples=Path(__file__).parent / "samples",
)
