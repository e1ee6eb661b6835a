"""Actions with approval and the audit log over HTTP, as the policy's principals.

A caller is a policy principal: `Authorization: Bearer <token>` whose sha256 is the principal's
`token_sha256` in the policy file. What they may request, approve, deny and run is decided by the
`ActionDesk` (engine/actions.py) under the policy; every step, refusals included, is audited.

    POST /api/v1/incidents/{id}/actions     request          201 | 403 | 422
    GET  /api/v1/actions/{id}               read             200 | 404
    POST /api/v1/actions/{id}/approve       approve          200 | 403 | 404 | 409
    POST /api/v1/actions/{id}/deny          deny             200 | 403 | 404 | 409
    POST /api/v1/actions/{id}/run           run              200 | 403 | 404 | 409
    GET  /api/v1/audit?after_seq=&limit=    the log          200
    GET  /api/v1/audit/verify               re-hash chain    200
"""

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from missioncontrol.api.runtime import Runtime, RuntimeDep
from missioncontrol.api.schemas import BODY_ERRORS, ErrorOut
from missioncontrol.api.schemas_respond import (
    ActionCreate,
    ActionRequestOut,
    ApprovalCreate,
    ApprovalOut,
    AuditEntryOut,
    AuditVerifyOut,
    DenialCreate,
    RunOut,
    to_action_request_out,
    to_approval_out,
    to_audit_entry_out,
    to_audit_verify_out,
    to_run_out,
)
from missioncontrol.api.security_docs import BEARER_ONLY
from missioncontrol.domain.respond import InvalidAction, NotAllowed, Principal, UnknownActionRequest
from missioncontrol.engine.actions import ActionDesk

_ERRORS: dict[int | str, dict[str, object]] = {
    **BODY_ERRORS,
    401: {"model": ErrorOut, "description": "No bearer token, or not a policy principal's."},
    403: {
        "model": ErrorOut,
        "description": "The policy does not grant this to the caller; says what is missing.",
    },
    404: {"model": ErrorOut, "description": "No such action request."},
    409: {"model": ErrorOut, "description": "The request is in a state that does not allow this."},
    422: {
        "model": ErrorOut,
        "description": "An invalid field, an unknown action or arguments the policy does not accept.",
    },
    503: {"model": ErrorOut, "description": "No policy is configured on this server."},
}


def _desk(runtime: Runtime) -> ActionDesk:
    if runtime.actions is None or runtime.policy is None:
        raise HTTPException(
            status_code=503, detail="no policy is configured (set MISSIONCONTROL_POLICY_PATH)"
        )
    return runtime.actions


def require_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """Return the policy principal whose token the caller presents; else 401."""
    deny = {"WWW-Authenticate": "Bearer"}
    if runtime.policy is None:
        raise HTTPException(
            status_code=503, detail="no policy is configured (set MISSIONCONTROL_POLICY_PATH)"
        )
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise HTTPException(
            status_code=401, detail="Authorization: Bearer <principal token> required", headers=deny
        )
    digest = hashlib.sha256(presented.strip().encode()).hexdigest()
    found = None
    for principal in runtime.policy.principals:  # every comparison constant-time, every principal tried
        if principal.token_sha256 and hmac.compare_digest(principal.token_sha256, digest):
            found = principal
    if found is None:
        raise HTTPException(
            status_code=401, detail="the bearer token is not a policy principal's", headers=deny
        )
    return found


PrincipalDep = Annotated[Principal, Depends(require_principal)]
# Audit seqs are a 32-bit INTEGER column on PostgreSQL (and SQLite binds at most 64 bits): a larger
# `after_seq` is refused by name as 422 rather than failing in the driver as a 500.
MAX_SEQ = 2**31 - 1
router = APIRouter(prefix="/api/v1", tags=["respond"], responses=_ERRORS, dependencies=BEARER_ONLY)


def _errors(exc: Exception) -> HTTPException:
    if isinstance(exc, NotAllowed):
        return HTTPException(status_code=403, detail=str(exc))
    if isinstance(exc, UnknownActionRequest):
        return HTTPException(status_code=404, detail=str(exc))
    if isinstance(exc, InvalidAction):
        status = 422 if "parameter" in str(exc) or "unknown action" in str(exc) else 409
        return HTTPException(status_code=status, detail=str(exc))
    raise exc


@router.post("/incidents/{incident_id}/actions", status_code=201, response_model=ActionRequestOut)
def request_action(
    incident_id: str, body: ActionCreate, runtime: RuntimeDep, who: PrincipalDep
) -> ActionRequestOut:
    """Ask to run a policy action for the incident; approved at once when the policy asks for no approval."""
    desk = _desk(runtime)
    try:
        request = desk.request(
            who, incident_id=incident_id, action=body.action, service=body.service, params=body.params
        )
    except (NotAllowed, InvalidAction) as exc:
        raise _errors(exc) from None
    return to_action_request_out(request)


@router.get("/actions/{request_id}", response_model=ActionRequestOut)
def get_action(request_id: str, runtime: RuntimeDep, _who: PrincipalDep) -> ActionRequestOut:
    """Return an action request with its status and the hash of its arguments."""
    try:
        return to_action_request_out(_desk(runtime).get(request_id))
    except UnknownActionRequest as exc:
        raise _errors(exc) from None


@router.post("/actions/{request_id}/approve", response_model=ApprovalOut)
def approve_action(
    request_id: str, runtime: RuntimeDep, who: PrincipalDep, body: ApprovalCreate | None = None
) -> ApprovalOut:
    """Approve a request (bound to its arguments, expiring per the policy)."""
    desk = _desk(runtime)
    try:
        approval = desk.approve(who, request_id, args_sha256=body.args_sha256 if body is not None else None)
        status = desk.get(request_id).status
    except (NotAllowed, InvalidAction, UnknownActionRequest) as exc:
        raise _errors(exc) from None
    return to_approval_out(approval, request_status=str(status))


@router.post("/actions/{request_id}/deny", response_model=ActionRequestOut)
def deny_action(
    request_id: str, body: DenialCreate, runtime: RuntimeDep, who: PrincipalDep
) -> ActionRequestOut:
    """Deny a request; it can never run."""
    try:
        return to_action_request_out(_desk(runtime).deny(who, request_id, reason=body.reason))
    except (NotAllowed, InvalidAction, UnknownActionRequest) as exc:
        raise _errors(exc) from None


@router.post("/actions/{request_id}/run", response_model=RunOut)
def run_action(request_id: str, runtime: RuntimeDep, who: PrincipalDep) -> RunOut:
    """Run an approved request once; refused without a matching, unexpired approval where one is needed."""
    try:
        outcome = _desk(runtime).run(who, request_id)
    except (NotAllowed, InvalidAction, UnknownActionRequest) as exc:
        raise _errors(exc) from None
    return to_run_out(request_id, outcome)


@router.get("/audit", response_model=list[AuditEntryOut])
def read_audit(
    runtime: RuntimeDep,
    _who: PrincipalDep,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryOut]:
    """Return audit entries after `after_seq`, oldest first (page with the last seq you saw)."""
    return [to_audit_entry_out(e) for e in _desk(runtime).ledger.entries(after_seq=after_seq, limit=limit)]


@router.get("/audit/verify", response_model=AuditVerifyOut)
def verify_audit(runtime: RuntimeDep, _who: PrincipalDep) -> AuditVerifyOut:
    """Re-hash the whole chain; `problem` names the first entry that does not verify."""
    return to_audit_verify_out(_desk(runtime).ledger.verify())
