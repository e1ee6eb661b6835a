"""The neutral incident case folder: read, write and list cases (docs/case-format.md)."""

from missioncontrol.connectors.casefolder.folder import is_case_folder, read_case, write_case
from missioncontrol.connectors.casefolder.source import CaseFolderSource, case_folders

__all__ = ["CaseFolderSource", "case_folders", "is_case_folder", "read_case", "write_case"]
