"""Backstage: `catalog-info.yaml` (Component, System, Group) as catalog entries and teams.

catalog = parse_catalog(Path("catalog-info.yaml").read_text(), at=datetime.now(UTC))
catalog.entries, catalog.teams, catalog.rejections
"""

from missioncontrol.connectors.backstage.mapping import (
    Catalog,
    CatalogFormatError,
    entity_name,
    parse_catalog,
)

__all__ = ["Catalog", "CatalogFormatError", "entity_name", "parse_catalog"]
