"""Rejections: one item of an ingested batch that could not be mapped, and exactly why.

Ingest never fails a whole batch because of one bad item: a mapping returns `(values, rejections)`.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected item: `where` names the item and field (a JSON path or a document and field)."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"
