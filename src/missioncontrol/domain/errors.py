"""The exception hierarchy.

MissionControlError
 └── CaseFormatError      a case file is malformed; names file, column and row
"""


class MissionControlError(Exception):
    """Base of every error Mission Control raises on purpose."""


class CaseFormatError(MissionControlError):
    """A case file is malformed. The message names the file, and the column and row where known."""

    def __init__(self, path: str, problem: str, *, column: str | None = None, row: int | None = None) -> None:
        self.path = path
        self.problem = problem
        self.column = column
        self.row = row
        where = path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")
