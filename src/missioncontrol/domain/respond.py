"""Respond by authority: what the person on duty may do now, or whom to escalate to and why."""

from dataclasses import dataclass
from enum import StrEnum

from missioncontrol.domain.ids import ServiceId


class Verdict(StrEnum):
    ACT = "act"  # the person on duty holds the authority for at least one useful action
    ESCALATE = "escalate"  # the needed authority is missing: hand over with the brief


@dataclass(frozen=True, slots=True)
class ActionOption:
    """One action the policy allows, on one service, and whether it needs an approval first."""

    action: str  # e.g. "restart", "rollback", "scale", "flag_off", "silence", "page"
    service: ServiceId
    tier: str  # the tier that may run it
    needs_approval_from: tuple[str, ...] = ()  # roles or tiers whose approval the policy asks for
    reason: str = ""  # why this action fits the hypothesis


@dataclass(frozen=True, slots=True)
class Decision:
    """Act within authority, or escalate to a team/tier because an action needs authority not held."""

    verdict: Verdict
    on_duty_tier: str
    actions: tuple[ActionOption, ...] = ()
    escalate_to: str = ""  # team or tier
    missing_authority: str = ""  # "rollback on payments needs L2"
    page_team: str = ""  # owner of the suspected cause, not of the symptom
