"""Request and response models of the respond routes (actions with approval, the audit log)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from missioncontrol.domain.respond import ActionRequest, Approval, AuditEntry, AuditVerification, RunOutcome


class ActionCreate(BaseModel):
    """Ask to run a policy action on a service; `params` are the action's declared parameters."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, max_length=64, examples=["restart"])
    service: str = Field(min_length=1, max_length=253, examples=["checkout"])
    params: dict[str, str] = Field(default_factory=dict, examples=[{"namespace": "shop"}])


class ApprovalCreate(BaseModel):
    """Approve a request; give `args_sha256` (as shown on the request) to bind to what you reviewed."""

    model_config = ConfigDict(extra="forbid")

    args_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class DenialCreate(BaseModel):
    """Deny a request, saying why."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


class ActionRequestOut(BaseModel):
    id: str
    incident_id: str
    action: str
    service: str
    args: dict[str, str]
    args_sha256: str
    requested_by: str
    requested_at: datetime
    status: str
    needs_approval: bool
    rule: int


class ApprovalOut(BaseModel):
    request_id: str
    approver: str
    args_sha256: str
    approved_at: datetime
    expires_at: datetime
    request_status: str


class RunOut(BaseModel):
    request_id: str
    is_success: bool
    exit_code: int | None
    http_status: int | None
    output: str
    duration_s: float
    error: str


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    event: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditVerifyOut(BaseModel):
    is_intact: bool
    entries: int
    problem: str
    head_hash: str


def to_action_request_out(request: ActionRequest) -> ActionRequestOut:
    """Map a domain request to its response model."""
    return ActionRequestOut(
        id=request.id,
        incident_id=request.incident_id,
        action=request.action,
        service=request.service,
        args=dict(request.args),
        args_sha256=request.args_sha256,
        requested_by=request.requested_by,
        requested_at=request.requested_at,
        status=str(request.status),
        needs_approval=request.needs_approval,
        rule=request.rule_index,
    )


def to_approval_out(approval: Approval, *, request_status: str) -> ApprovalOut:
    """Map a domain approval to its response model."""
    return ApprovalOut(
        request_id=approval.request_id,
        approver=approval.approver,
        args_sha256=approval.args_sha256,
        approved_at=approval.approved_at,
        expires_at=approval.expires_at,
        request_status=request_status,
    )


def to_run_out(request_id: str, outcome: RunOutcome) -> RunOut:
    """Map a run outcome to its response model."""
    return RunOut(
        request_id=request_id,
        is_success=outcome.is_success,
        exit_code=outcome.exit_code,
        http_status=outcome.http_status,
        output=outcome.output,
        duration_s=outcome.duration_s,
        error=outcome.error,
    )


def to_audit_entry_out(entry: AuditEntry) -> AuditEntryOut:
    """Map an audit entry to its response model."""
    return AuditEntryOut(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        event=entry.event,
        subject=entry.subject,
        details=dict(entry.details),
        prev_hash=entry.prev_hash,
        hash=entry.hash,
    )


def to_audit_verify_out(result: AuditVerification) -> AuditVerifyOut:
    """Map a verification result to its response model."""
    return AuditVerifyOut(
        is_intact=result.is_intact, entries=result.entries, problem=result.problem, head_hash=result.head_hash
    )
