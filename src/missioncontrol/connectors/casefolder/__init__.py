"""The neutral incident case folder: read, write and list cases (docs/case-format.md)."""

from missioncontrol.connectors.casefolder.folder import is_case_folder, read_case, write_case
from missioncontrol.connectors.casefolder.source import CaseFolderSource, case_folders
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = ["CaseFolderSource", "case_folders", "is_case_folder", "read_case", "spec", "write_case"]


spec = ConnectorSpec(
    name="casefolder",
    summary="Incident case folders (the neutral exchange format): read and write.",
    capabilities=frozenset({Capability.CASE_SOURCE}),
    docs="docs/connectors/casefolder.md",
)
