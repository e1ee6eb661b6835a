"""Actions with approval: request, approve or deny, run — each step checked against the policy and audited.

    request  ── principal's tier (and roles) granted the action on the service by a rule? arguments
                 match the declared patterns? → stored with the sha256 of its exact arguments;
                 PENDING when the rule asks for an approval, else APPROVED
    approve  ── approver holds the approval's roles or tier, is not the requester (unless allowed),
                 has not approved already → approval bound to the arguments' hash, expiring after ttl
    run      ── principal granted the action too; enough unexpired approvals on the same arguments
                 hash from distinct eligible approvers; the request claimed APPROVED → RUNNING atomically
                 (so one approval runs once) → runner → SUCCEEDED / FAILED

Every request, approval, denial, refusal, run and outcome is written to the audit log through the
`ports.ActionLedger`. **Invariant:** no action runs without a matching approval where the policy asks
for one. The checks are pure functions of the policy, the stored request and its approvals.
"""

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from missioncontrol.domain import ServiceId
from missioncontrol.domain.respond import (
    BUILTIN_PARAMS,
    ActionRequest,
    ActionRequestId,
    ActionSpec,
    ActionStatus,
    Approval,
    InvalidAction,
    NotAllowed,
    Policy,
    Principal,
    Rule,
    RunOutcome,
    UnknownActionRequest,
)
from missioncontrol.engine.respond import CatalogLookup, grant_for, lowest_granting_tier, service_tier_of
from missioncontrol.ports import ActionLedger, ActionRunner


def bind_args(spec: ActionSpec, args: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Return the sorted (name, value) pairs after checking every value against its declared pattern."""
    patterns = {**BUILTIN_PARAMS, **dict(spec.params)}
    unknown = sorted(set(args) - set(patterns))
    if unknown:
        raise InvalidAction(
            f"{spec.name}: unknown parameter(s) {', '.join(unknown)}; declared: {', '.join(sorted(patterns))}"
        )
    missing = sorted(set(patterns) - set(args))
    if missing:
        raise InvalidAction(f"{spec.name}: missing parameter(s) {', '.join(missing)}")
    for name, value in args.items():
        if not isinstance(value, str) or not re.fullmatch(patterns[name], value):
            raise InvalidAction(
                f"{spec.name}: {name}={value!r} does not match the policy's pattern {patterns[name]!r}"
            )
    return tuple(sorted(args.items()))


def args_sha256(action: str, args: tuple[tuple[str, str], ...]) -> str:
    """Return the hash an approval binds to: the action and its exact arguments."""
    body = json.dumps(
        {"action": action, "args": [list(a) for a in args]}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(body.encode()).hexdigest()


def may_approve(policy: Policy, rule: Rule, principal: Principal) -> bool:
    """Return True when `principal` holds a role or tier the rule's approval accepts."""
    approval = rule.approval
    if approval is None:
        return False
    by_role = bool(set(approval.roles) & set(principal.roles))
    by_tier = bool(approval.min_tier) and policy.at_least(principal.tier, approval.min_tier)
    return by_role or by_tier


def valid_approvals(
    policy: Policy, request: ActionRequest, approvals: tuple[Approval, ...], *, now: datetime
) -> tuple[Approval, ...]:
    """Return the approvals that still count for `request` at `now`: its arguments, unexpired, eligible."""
    rule = _rule(policy, request)
    if rule.approval is None:
        return ()
    out: dict[str, Approval] = {}
    for a in approvals:
        if a.request_id != request.id or a.args_sha256 != request.args_sha256 or a.expires_at <= now:
            continue
        if a.approver == request.requested_by and not rule.approval.allow_self:
            continue
        approver = policy.principal(a.approver)
        if approver is None or not may_approve(policy, rule, approver):
            continue  # the approver lost the role since: the approval no longer counts
        out.setdefault(a.approver, a)
    return tuple(out.values())


def _rule(policy: Policy, request: ActionRequest) -> Rule:
    if not 0 <= request.rule_index < len(policy.rules):
        raise InvalidAction(
            f"request {request.id}: policy changed since (rule {request.rule_index} is gone); request again"
        )
    rule = policy.rules[request.rule_index]
    return rule


class ActionDesk:
    """The use case behind the API and CLI: request, approve, deny and run actions under the policy."""

    def __init__(
        self,
        policy: Policy,
        *,
        ledger: ActionLedger,
        runner: ActionRunner,
        catalog: CatalogLookup,
        clock: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.policy = policy
        self.ledger = ledger
        self.runner = runner
        self.catalog = catalog
        self.clock = clock or (lambda: datetime.now(UTC))
        self.new_id = new_id or (lambda: f"act-{uuid.uuid4().hex[:16]}")

    def _refuse(self, principal: Principal, subject: str, error: Exception, **details: object) -> Exception:
        self.ledger.audit(
            actor=principal.name, event="refuse", subject=subject, details={**details, "reason": str(error)}
        )
        return error

    def request(
        self, principal: Principal, *, incident_id: str, action: str, service: str, params: Mapping[str, str]
    ) -> ActionRequest:
        """Record a request to run `action` on `service`; refuse (audited) what the policy does not grant."""
        subject = f"{action} on {service}"
        spec = self.policy.action(action)
        if spec is None:
            declared = ", ".join(a.name for a in self.policy.actions)
            raise self._refuse(
                principal, subject, InvalidAction(f"unknown action {action!r}; declared: {declared}")
            )
        try:
            args = bind_args(spec, {**params, "service": service, "incident_id": incident_id})
        except InvalidAction as exc:
            raise self._refuse(principal, subject, exc) from None
        svc = ServiceId(service)
        tier = service_tier_of(svc, policy=self.policy, catalog=self.catalog)
        rule = grant_for(
            self.policy,
            action=action,
            service=svc,
            service_tier=tier,
            tier=principal.tier,
            roles=principal.roles,
        )
        if rule is None:
            raise self._refuse(principal, subject, NotAllowed(self._why_not(principal, action, svc, tier)))
        request = ActionRequest(
            id=ActionRequestId(self.new_id()),
            incident_id=incident_id,
            action=action,
            service=svc,
            args=args,
            args_sha256=args_sha256(action, args),
            requested_by=principal.name,
            requested_at=self.clock(),
            status=ActionStatus.PENDING if rule.approval is not None else ActionStatus.APPROVED,
            needs_approval=rule.approval is not None,
            rule_index=rule.index,
        )
        details = {
            "action": action,
            "service": service,
            "incident_id": incident_id,
            "args": dict(args),
            "args_sha256": request.args_sha256,
            "rule": rule.index,
            "needs_approval": request.needs_approval,
            "approval": rule.approval.describe() if rule.approval is not None else "",
            "approvals_needed": rule.approval.count if rule.approval is not None else 0,
            "tier": principal.tier,
        }
        self.ledger.add_request(request, details=details)
        return request

    def _why_not(self, principal: Principal, action: str, service: ServiceId, tier: str) -> str:
        lowest = lowest_granting_tier(self.policy, action=action, service=service, service_tier=tier)
        if lowest is None:
            return f"no rule grants {action} on {service} (service tier {tier or '-'}) to anyone"
        where = f"(rules[{lowest.index}])"
        if self.policy.at_least(principal.tier, lowest.min_tier):
            needs, holds = ", ".join(lowest.roles), ", ".join(principal.roles) or "none"
            return f"{action} on {service} needs role {needs} {where}; {principal.name} holds {holds}"
        return f"{action} on {service} needs {lowest.min_tier} {where}; {principal.name} is {principal.tier}"

    def get(self, request_id: str) -> ActionRequest:
        """Return the request or raise `UnknownActionRequest`."""
        request = self.ledger.get_request(ActionRequestId(request_id))
        if request is None:
            raise UnknownActionRequest(f"no action request {request_id!r}")
        return request

    def approve(self, principal: Principal, request_id: str, *, args_sha256: str | None = None) -> Approval:
        """Approve the request as `principal`; `args_sha256`, if given, must be the arguments they saw."""
        request = self.get(request_id)
        rule = _rule(self.policy, request)
        if request.status not in (ActionStatus.PENDING, ActionStatus.APPROVED) or not request.needs_approval:
            raise self._refuse(
                principal,
                request.id,
                InvalidAction(f"request {request.id} is {request.status}; nothing to approve"),
            )
        if args_sha256 is not None and args_sha256 != request.args_sha256:
            raise self._refuse(
                principal,
                request.id,
                InvalidAction(f"request {request.id}: the arguments changed since you saw them"),
            )
        if not may_approve(self.policy, rule, principal):
            assert rule.approval is not None
            raise self._refuse(
                principal,
                request.id,
                NotAllowed(
                    f"{request.action} on {request.service} needs {rule.approval.describe()}; "
                    f"{principal.name} is {principal.tier} with roles {', '.join(principal.roles) or 'none'}"
                ),
            )
        assert rule.approval is not None
        if principal.name == request.requested_by and not rule.approval.allow_self:
            raise self._refuse(
                principal,
                request.id,
                NotAllowed(f"{principal.name} requested {request.id} and may not approve it too"),
            )
        existing = self.ledger.approvals(request.id)
        now = self.clock()
        if any(a.approver == principal.name and a.expires_at > now for a in existing):
            raise self._refuse(
                principal, request.id, InvalidAction(f"{principal.name} already approved {request.id}")
            )
        approval = Approval(
            request_id=request.id,
            approver=principal.name,
            args_sha256=request.args_sha256,
            approved_at=now,
            expires_at=now + timedelta(seconds=rule.approval.ttl_s),
        )
        counted = valid_approvals(self.policy, request, (*existing, approval), now=now)
        status = ActionStatus.APPROVED if len(counted) >= rule.approval.count else ActionStatus.PENDING
        self.ledger.add_approval(approval, status=status)
        return approval

    def deny(self, principal: Principal, request_id: str, *, reason: str) -> ActionRequest:
        """Deny the request (anyone who may approve it may deny it)."""
        request = self.get(request_id)
        rule = _rule(self.policy, request)
        may = may_approve(self.policy, rule, principal) or principal.name == request.requested_by
        if not may:
            raise self._refuse(
                principal, request.id, NotAllowed(f"{principal.name} may not deny {request.id}")
            )
        for expected in (ActionStatus.PENDING, ActionStatus.APPROVED):
            if self.ledger.set_status(
                request.id,
                ActionStatus.DENIED,
                expected=expected,
                actor=principal.name,
                event="deny",
                details={"reason": reason},
            ):
                return self.get(request.id)
        raise self._refuse(
            principal, request.id, InvalidAction(f"request {request.id} is {request.status}; cannot deny")
        )

    def run(self, principal: Principal, request_id: str) -> RunOutcome:
        """Run an approved request once, as `principal`; refuse (audited) without a matching approval."""
        request = self.get(request_id)
        spec = self.policy.action(request.action)
        if spec is None:
            raise self._refuse(
                principal, request.id, InvalidAction(f"action {request.action!r} is no longer declared")
            )
        tier = service_tier_of(request.service, policy=self.policy, catalog=self.catalog)
        granted = grant_for(
            self.policy,
            action=request.action,
            service=request.service,
            service_tier=tier,
            tier=principal.tier,
            roles=principal.roles,
        )
        if granted is None:
            raise self._refuse(
                principal,
                request.id,
                NotAllowed(self._why_not(principal, request.action, request.service, tier)),
            )
        if request.status not in (ActionStatus.APPROVED, ActionStatus.PENDING):
            raise self._refuse(
                principal,
                request.id,
                InvalidAction(f"request {request.id} is {request.status}, not approved"),
            )
        if args_sha256(request.action, request.args) != request.args_sha256:
            raise self._refuse(
                principal, request.id, NotAllowed(f"request {request.id}: arguments do not match their hash")
            )
        now = self.clock()
        rule = _rule(self.policy, request)
        approvals: tuple[Approval, ...] = ()
        if request.needs_approval or rule.approval is not None:
            if rule.approval is None:
                raise self._refuse(
                    principal,
                    request.id,
                    InvalidAction(f"request {request.id}: policy changed; request again"),
                )
            approvals = valid_approvals(self.policy, request, self.ledger.approvals(request.id), now=now)
            if len(approvals) < rule.approval.count:
                raise self._refuse(
                    principal,
                    request.id,
                    NotAllowed(
                        f"{request.action} on {request.service} needs {rule.approval.describe()} on these "
                        f"exact arguments, unexpired: {len(approvals)} of {rule.approval.count} valid"
                    ),
                )
        claimed = self.ledger.set_status(
            request.id,
            ActionStatus.RUNNING,
            expected=ActionStatus.APPROVED,
            actor=principal.name,
            event="run",
            details={
                "action": request.action,
                "service": request.service,
                "args_sha256": request.args_sha256,
                "approvals": [
                    {"approver": a.approver, "expires_at": a.expires_at.isoformat()} for a in approvals
                ],
            },
        )
        if not claimed:
            current = self.get(request.id).status
            raise self._refuse(
                principal, request.id, InvalidAction(f"request {request.id} is {current}, not approved")
            )
        outcome = self.runner.run(spec, dict(request.args))
        self.ledger.set_status(
            request.id,
            ActionStatus.SUCCEEDED if outcome.is_success else ActionStatus.FAILED,
            expected=ActionStatus.RUNNING,
            actor=principal.name,
            event="outcome",
            details={
                "success": outcome.is_success,
                "exit_code": outcome.exit_code,
                "http_status": outcome.http_status,
                "duration_s": round(outcome.duration_s, 3),
                "error": outcome.error,
                "output": outcome.output[:1000],
            },
        )
        return outcome
