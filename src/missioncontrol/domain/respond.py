"""Respond by authority: the policy, what the person on duty may do now, or whom to escalate to and why.

A `Policy` (parsed from the policy YAML by `connectors.policyfile`) names ordered tiers (lowest authority
first), teams and their on-call contacts, principals with their roles and tier, the actions a runbook can
run (each with a runner: an argv command or an HTTP call), and rules: which tier may run which action on
which services or catalog service tiers, and whose approval it needs first.

`engine.respond.decide` turns a diagnosis and the policy into a `Decision`; `engine.actions.ActionDesk`
enforces the same rules when someone asks to run an action, and writes every step to the audit log.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import NewType

from missioncontrol.domain.errors import MissionControlError
from missioncontrol.domain.ids import ServiceId

ActionRequestId = NewType("ActionRequestId", str)

GENESIS_HASH = "0" * 64  # prev_hash of the first audit entry

# Parameters every action has, with the pattern their values must fully match.
BUILTIN_PARAMS = {"service": r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}", "incident_id": r"[A-Za-z0-9._:-]{1,128}"}


class Verdict(StrEnum):
    ACT = "act"  # the person on duty holds the authority for at least one useful action
    ESCALATE = "escalate"  # the needed authority is missing (or the cause is unclear): hand over


class ActionKind(StrEnum):
    """The kinds of action the decision table knows how to suggest; a policy may declare others."""

    RESTART = "restart"
    ROLLBACK = "rollback"
    SCALE = "scale"
    FLAG_OFF = "flag_off"
    SILENCE = "silence"
    PAGE = "page"


# --- the policy ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OnCall:
    """A team and how to reach whoever is on call for it (the catalog names owners; policy adds contacts)."""

    team: str
    contacts: tuple[str, ...] = ()  # people or rotations, e.g. "alice@example.com"
    slack_channel: str = ""
    pagerduty_routing_key_ref: str = ""  # name of the secret holding the team's Events v2 routing key
    escalation_tier: str = ""  # the tier this team answers at when escalated to


@dataclass(frozen=True, slots=True)
class Principal:
    """Someone (or something) that may request, approve or run actions; authenticated by a bearer token."""

    name: str
    tier: str
    roles: tuple[str, ...] = ()
    team: str = ""
    token_sha256: str = ""  # hex sha256 of the bearer token; the token itself is never in the policy


@dataclass(frozen=True, slots=True)
class CommandRunner:
    """Run a program with an argv (never a shell); each argument is a template over the action's params."""

    argv: tuple[str, ...]
    timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class HttpRunner:
    """Make one HTTP call; url, header values and body string values are templates over the params."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""  # JSON text template, or empty for no body
    timeout_s: float = 30.0


Runner = CommandRunner | HttpRunner


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """An action the runbook can run, its parameters, and how it is run."""

    name: str  # e.g. "restart"
    runner: Runner
    description: str = ""
    params: tuple[tuple[str, str], ...] = ()  # (name, regex every value must fully match), besides the
    # built-ins `service` and `incident_id`
    is_destructive: bool = True  # False only for actions that change nothing in production (page)


@dataclass(frozen=True, slots=True)
class ApprovalRule:
    """Whose approval an action needs: anyone holding one of `roles`, or anyone at `min_tier` or above."""

    roles: tuple[str, ...] = ()
    min_tier: str = ""
    count: int = 1
    ttl_s: float = 900.0  # an approval expires this long after it is given
    allow_self: bool = False  # may the requester approve their own request?

    def describe(self) -> str:
        """Return who may approve, in words."""
        who = [f"role {r}" for r in self.roles] + ([f"tier {self.min_tier}+"] if self.min_tier else [])
        many = f"{self.count} approvals" if self.count > 1 else "approval"
        return f"{many} from {' or '.join(who)}"


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may run which actions on which services: `min_tier` and above, with an approval if set.

    Rules are read top to bottom like a firewall: the first rule that covers the action and service and
    grants the principal's tier decides (see `engine.respond.grant_for`).
    """

    actions: tuple[str, ...]
    min_tier: str
    services: tuple[str, ...] = ("*",)  # glob patterns over service ids
    service_tiers: tuple[str, ...] = ()  # catalog tiers ("1", "2"...); empty = any
    approval: ApprovalRule | None = None
    roles: tuple[str, ...] = ()  # if set, the runner must also hold one of these roles
    index: int = 0  # position in the policy file, for messages

    def covers(self, action: str, service: ServiceId, service_tier: str) -> bool:
        """Return True when this rule speaks about `action` on `service` (of catalog tier `service_tier`)."""
        if action not in self.actions and "*" not in self.actions:
            return False
        if not any(fnmatchcase(service, pattern) for pattern in self.services):
            return False
        return not self.service_tiers or service_tier in self.service_tiers


@dataclass(frozen=True, slots=True)
class ServiceOverride:
    """What the policy says about a service when the catalog is silent: owner team and service tier."""

    service: str  # glob pattern
    owner: str = ""
    tier: str = ""


@dataclass(frozen=True, slots=True)
class Policy:
    """The whole policy file, validated: every name a rule or principal uses is declared."""

    tiers: tuple[str, ...]  # lowest authority first
    teams: tuple[OnCall, ...] = ()
    principals: tuple[Principal, ...] = ()
    actions: tuple[ActionSpec, ...] = ()
    rules: tuple[Rule, ...] = ()
    services: tuple[ServiceOverride, ...] = ()
    default_team: str = ""  # paged when neither catalog nor policy names an owner
    roles: tuple[str, ...] = ()
    path: str = ""

    def rank(self, tier: str) -> int:
        """Return the tier's position (0 = least authority); unknown tiers rank below all."""
        return self.tiers.index(tier) if tier in self.tiers else -1

    def at_least(self, tier: str, minimum: str) -> bool:
        """Return True when `tier` holds at least the authority of `minimum`."""
        return self.rank(tier) >= 0 and self.rank(tier) >= self.rank(minimum)

    def action(self, name: str) -> ActionSpec | None:
        """Return the declared action called `name`, or None."""
        return next((a for a in self.actions if a.name == name), None)

    def team(self, name: str) -> OnCall | None:
        """Return the on-call entry of team `name`, or None."""
        return next((t for t in self.teams if t.team == name), None)

    def principal(self, name: str) -> Principal | None:
        """Return the principal called `name`, or None."""
        return next((p for p in self.principals if p.name == name), None)

    def principal_by_token_sha256(self, digest: str) -> Principal | None:
        """Return the principal whose token hashes to `digest`, or None."""
        return next((p for p in self.principals if p.token_sha256 and p.token_sha256 == digest), None)

    def service_override(self, service: ServiceId) -> ServiceOverride | None:
        """Return the first policy entry whose pattern matches `service`, or None."""
        return next((s for s in self.services if fnmatchcase(service, s.service)), None)

    def rules_for(self, action: str, service: ServiceId, service_tier: str) -> tuple[Rule, ...]:
        """Return the rules that speak about `action` on `service`, in file order."""
        return tuple(r for r in self.rules if r.covers(action, service, service_tier))


# --- the decision ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionOption:
    """One action the policy allows, on one service, and whether it needs an approval first."""

    action: str  # e.g. "restart", "rollback", "scale", "flag_off", "silence", "page"
    service: ServiceId
    tier: str  # the tier that may run it
    needs_approval_from: tuple[str, ...] = ()  # roles or tiers whose approval the policy asks for
    reason: str = ""  # why this action fits the hypothesis


@dataclass(frozen=True, slots=True)
class Escalation:
    """An action that would help but that the person on duty may not take: who may, and why not."""

    action: str
    service: ServiceId
    needs_tier: str  # the lowest tier a rule grants it to ("" when no rule grants it at all)
    team: str  # the team to escalate to: owner of the suspected cause
    reason: str  # "rollback on payments needs L2 (rules[3]); on duty: L1"


@dataclass(frozen=True, slots=True)
class Decision:
    """Act within authority, or escalate to a team/tier because an action needs authority not held."""

    verdict: Verdict
    on_duty_tier: str
    actions: tuple[ActionOption, ...] = ()
    escalate_to: str = ""  # "TEAM/TIER"
    missing_authority: str = ""  # "rollback on payments needs L2"
    page_team: str = ""  # owner of the suspected cause, not of the symptom
    page_contacts: tuple[str, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    is_confident: bool = True
    summary: str = ""  # one line: what to do now
    handoff: str = ""  # the causal summary handed over on escalation (carries the brief's essentials)


# --- actions, approvals and the audit log ----------------------------------------------------------


class ActionStatus(StrEnum):
    PENDING = "pending"  # waiting for approval
    APPROVED = "approved"  # may run (approved, or no approval needed)
    DENIED = "denied"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """Someone asked to run an action with these exact arguments; approvals bind to `args_sha256`."""

    id: ActionRequestId
    incident_id: str
    action: str
    service: ServiceId
    args: tuple[tuple[str, str], ...]  # sorted (name, value) pairs, including service and incident_id
    args_sha256: str
    requested_by: str
    requested_at: datetime
    status: ActionStatus
    needs_approval: bool
    rule_index: int  # which policy rule granted it


@dataclass(frozen=True, slots=True)
class Approval:
    """One approval of one request, bound to its arguments, expiring."""

    request_id: ActionRequestId
    approver: str
    args_sha256: str
    approved_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What running an action did."""

    is_success: bool
    exit_code: int | None = None  # command runners
    http_status: int | None = None  # HTTP runners
    output: str = ""  # the first few KB of stdout/stderr or the response body
    duration_s: float = 0.0
    error: str = ""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the append-only, hash-chained audit log."""

    seq: int
    at: datetime
    actor: str
    event: str  # "request", "approve", "deny", "run", "outcome", "refuse"
    subject: str  # the action request id, or what was refused
    details: dict[str, object] = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of re-hashing the audit chain."""

    is_intact: bool
    entries: int
    problem: str = ""  # the first entry that does not verify, and why
    head_hash: str = GENESIS_HASH


# --- outbound delivery -----------------------------------------------------------------------------


class PageAction(StrEnum):
    """PagerDuty Events v2 `event_action`."""

    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """One HTTP request to leave the building: checked against the allow-list, retried if `max_attempts`."""

    method: str
    url: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
    timeout_s: float = 10.0
    max_attempts: int = 5  # 1 = no retry (runbook HTTP actions must not repeat by themselves)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What came of an outbound request: delivered, dry run, or failed (and why)."""

    is_delivered: bool
    url: str
    status: int | None = None
    attempts: int = 0
    is_dry_run: bool = False
    body: str = ""  # response body, first KB
    error: str = ""


# --- errors ----------------------------------------------------------------------------------------


class PolicyError(MissionControlError):
    """The policy file is invalid; the message names the file, the YAML path and what was wrong."""

    def __init__(self, path: str, problems: list[tuple[str, str]]) -> None:
        self.path = path
        self.problems = problems
        lines = [f"{path}: {where}: {what}" if where else f"{path}: {what}" for where, what in problems]
        super().__init__("; ".join(lines) if len(lines) == 1 else "\n".join(lines))


class NotAllowed(MissionControlError):
    """The principal lacks the authority, role or approval the policy asks for; the message says which."""


class InvalidAction(MissionControlError):
    """The request cannot proceed: unknown action, bad arguments, or a request in the wrong state."""


class UnknownActionRequest(MissionControlError):
    """No action request has this id."""


class OutboundRefused(MissionControlError):
    """An outbound URL is not allowed: not on the allow-list, link-local, a metadata host, or loopback."""
