"""Response models of the ingest routes: changes and catalog recorded, items rejected and why."""

from pydantic import BaseModel, Field

from missioncontrol.domain import Rejection


class RejectionOut(BaseModel):
    """One item the mapping refused: where it is (a JSON path, or a document and field) and why."""

    where: str
    reason: str


class ChangesRecordedOut(BaseModel):
    """What a change webhook did: changes mapped, how many were new, items rejected."""

    received: int = Field(description="Changes the payload held that could be mapped.")
    recorded: int = Field(description="Changes that were new; a resent event records nothing twice.")
    rejected: int
    errors: list[RejectionOut] = Field(default_factory=list)


class CatalogRecordedOut(BaseModel):
    """What a catalog upload did: components and groups recorded, documents rejected or skipped."""

    entries: int
    teams: int
    rejected: int
    errors: list[RejectionOut] = Field(default_factory=list)
    notes: list[str] = Field(
        default_factory=list, description="Documents skipped on purpose (API, Resource)."
    )


class IngestErrorOut(BaseModel):
    """An ingest request refused as a whole, with the item problems where there were any."""

    detail: str
    errors: list[RejectionOut] = Field(default_factory=list)


def to_rejection_out(rejection: Rejection) -> RejectionOut:
    """Return the API form of a rejection."""
    return RejectionOut(where=rejection.where, reason=rejection.reason)
