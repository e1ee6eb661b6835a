"""CaseFolderSource: yield the cases of one case folder or of a folder of case folders."""

from collections.abc import Iterator
from pathlib import Path

from missioncontrol.connectors.casefolder.folder import is_case_folder, read_case
from missioncontrol.domain import CaseFormatError, LabeledCase, TimeMode


class CaseFolderSource:
    """A CaseSource over case folders: `path` is one case, or holds case folders read in name order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"cases:{path}"

    def cases(self, *, time_mode: TimeMode) -> Iterator[LabeledCase]:
        """Yield each case folder's labelled case, sorted by folder name."""
        for folder in case_folders(self.path):
            yield read_case(folder, time_mode=time_mode)


def case_folders(path: Path) -> list[Path]:
    """Return `path` if it is a case folder, else its case sub-folders sorted by name.

    Hidden folders are skipped; any other sub-folder without metrics.csv is an error, so that a
    misnamed file does not silently drop a case from a benchmark.
    """
    if is_case_folder(path):
        return [path]
    if not path.is_dir():
        raise CaseFormatError(str(path), "not found: expected a case folder or a folder of case folders")
    folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise CaseFormatError(str(path), "has no metrics.csv and no case folders")
    for folder in folders:
        if not is_case_folder(folder):
            raise CaseFormatError(
                str(folder / "metrics.csv"), "missing: a case needs metrics.csv or metrics.csv.gz"
            )
    return folders
