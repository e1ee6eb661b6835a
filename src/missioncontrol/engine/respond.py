"""Decide: what the person on duty may do now about the suspected cause, or whom to escalate to and why.

    diagnosis ──► top hypotheses (suspect × fault kind)
              ──► FAULT_ACTIONS: the actions that fit each fault kind (bad change → rollback, ...)
              ──► policy rules (first rule that covers the action and service and grants the tier)
              ──► act: options within authority (with the approvals they need)
                  escalate: "to TEAM/TIER because ACTION on SERVICE needs TIER", plus the handoff

Escalation follows authority, not knowledge: an L1 with a confident diagnosis acts on what the policy
lets them; what it does not is handed over with the causal summary. The page goes to the owner of the
suspected cause (catalog owner of the prime suspect, else the policy's service entry, else its default
team), never to the owner of the symptom. A diagnosis that is not confident suggests nothing
destructive: it escalates with what is known. Pure: no I/O; the catalog is a lookup handed in.
"""

from collections.abc import Callable
from dataclasses import replace

from missioncontrol.domain import (
    Brief,
    CatalogEntry,
    Diagnosis,
    EvidenceKind,
    FaultKind,
    Hypothesis,
    ServiceId,
    Stance,
)
from missioncontrol.domain.respond import (
    ActionKind,
    ActionOption,
    Decision,
    Escalation,
    Policy,
    Rule,
    Verdict,
)
from missioncontrol.ports import WorldModel

CatalogLookup = Callable[[ServiceId], CatalogEntry | None]

# What helps, by fault kind, best first, with the reason shown to the operator.
FAULT_ACTIONS: dict[FaultKind, tuple[tuple[ActionKind, str], ...]] = {
    FaultKind.BAD_CHANGE: (
        (ActionKind.ROLLBACK, "a recent change is the suspected cause: roll it back"),
        (
            ActionKind.FLAG_OFF,
            "if the change shipped behind a flag, turning it off is faster than a rollback",
        ),
    ),
    FaultKind.CPU: (
        (ActionKind.SCALE, "CPU saturation: add replicas to spread the load"),
        (ActionKind.RESTART, "a restart clears a runaway process while capacity is added"),
    ),
    FaultKind.MEMORY: (
        (ActionKind.RESTART, "memory exhaustion: a restart frees it while the leak is found"),
        (ActionKind.SCALE, "more replicas buy time before each one runs out"),
    ),
    FaultKind.LATENCY: (
        (ActionKind.SCALE, "the service itself is slow: add capacity"),
        (ActionKind.RESTART, "a restart clears stuck workers or connection pools"),
    ),
    FaultKind.ERRORS: (
        (ActionKind.RESTART, "the service raises errors of its own: a restart clears a bad state"),
        (ActionKind.ROLLBACK, "if the errors began with a deploy, roll it back"),
    ),
    FaultKind.WRONG_OUTPUT: (
        (ActionKind.FLAG_OFF, "answers are wrong though fast: turn off the feature that changed them"),
        (ActionKind.ROLLBACK, "or roll back the change that altered its output"),
    ),
    FaultKind.NETWORK: ((ActionKind.RESTART, "a restart re-establishes connections on a fresh node"),),
    FaultKind.DEPENDENCY: (),  # a failing dependency is fixed by its owner: page them
    FaultKind.UNKNOWN: (),
}

MAX_HYPOTHESES = 3  # the top hypotheses whose actions are offered
MIN_CONFIDENCE = 0.15  # below this, a runner-up hypothesis is not worth an action


def grant_for(
    policy: Policy,
    *,
    action: str,
    service: ServiceId,
    service_tier: str,
    tier: str,
    roles: tuple[str, ...] | None = None,
) -> Rule | None:
    """Return the first rule covering `action` on `service` that grants it to `tier` (and `roles`).

    `roles=None` skips role checks (deciding for "whoever is on duty at this tier").
    """
    for rule in policy.rules_for(action, service, service_tier):
        if not policy.at_least(tier, rule.min_tier):
            continue
        if rule.roles and roles is not None and not set(rule.roles) & set(roles):
            continue
        return rule
    return None


def lowest_granting_tier(
    policy: Policy, *, action: str, service: ServiceId, service_tier: str
) -> Rule | None:
    """Return the covering rule that grants `action` on `service` to the lowest tier, or None."""
    rules = policy.rules_for(action, service, service_tier)
    return min(rules, key=lambda r: (policy.rank(r.min_tier), r.index), default=None)


def owner_of(service: ServiceId, *, policy: Policy, catalog: CatalogLookup) -> str:
    """Return the team owning `service`: the catalog's owner, else the policy's, else the default team."""
    entry = catalog(service)
    if entry is not None and entry.owner:
        return entry.owner
    override = policy.service_override(service)
    if override is not None and override.owner:
        return override.owner
    return policy.default_team


def service_tier_of(service: ServiceId, *, policy: Policy, catalog: CatalogLookup) -> str:
    """Return the catalog tier of `service`, else the policy's, else ""."""
    entry = catalog(service)
    if entry is not None and entry.tier:
        return entry.tier
    override = policy.service_override(service)
    return override.tier if override is not None else ""


def approvers(rule: Rule) -> tuple[str, ...]:
    """Return who may approve under `rule`: role names and "tier X+"."""
    if rule.approval is None:
        return ()
    return (*rule.approval.roles, *((f"tier {rule.approval.min_tier}+",) if rule.approval.min_tier else ()))


def decide(
    brief_or_diagnosis: Brief | Diagnosis,
    *,
    policy: Policy,
    on_duty_tier: str,
    catalog: CatalogLookup,
) -> Decision:
    """Return what the person on duty at `on_duty_tier` may do now, or whom to escalate to and why."""
    diagnosis = brief_or_diagnosis.diagnosis if isinstance(brief_or_diagnosis, Brief) else brief_or_diagnosis
    hypotheses = diagnosis.hypotheses
    if not hypotheses:
        team = policy.default_team
        return Decision(
            verdict=Verdict.ESCALATE,
            on_duty_tier=on_duty_tier,
            escalate_to=_team_tier(policy, team, on_duty_tier),
            page_team=team,
            page_contacts=_contacts(policy, team),
            is_confident=False,
            summary=f"No hypothesis: escalate to {_team_tier(policy, team, on_duty_tier)} with the symptoms.",
            handoff=handoff_text(diagnosis, on_duty_tier=on_duty_tier, options=(), escalations=()),
        )
    top = hypotheses[0]
    confident = diagnosis.is_confident
    page_team = owner_of(top.service, policy=policy, catalog=catalog)
    options: list[ActionOption] = []
    escalations: list[Escalation] = []
    for hypothesis in _considered(hypotheses):
        for action, why in _actions_for(hypothesis):
            _weigh(
                policy,
                action=action,
                why=why,
                hypothesis=hypothesis,
                on_duty_tier=on_duty_tier,
                catalog=catalog,
                options=options,
                escalations=escalations,
            )
    page_rule = _page_option(policy, top, on_duty_tier=on_duty_tier, catalog=catalog, page_team=page_team)
    if not confident:
        options = [o for o in options if not _is_destructive(policy, o.action)]
    if page_rule is not None:
        options.append(page_rule)
    acts_on_top = [o for o in options if o.service == top.service and _is_destructive(policy, o.action)]
    verdict = Verdict.ACT if confident and acts_on_top else Verdict.ESCALATE
    first = next((e for e in escalations if e.service == top.service), None)
    if first is not None:
        escalate_to = f"{first.team}/{first.needs_tier}" if first.needs_tier else first.team
        missing = f"{first.action} on {first.service} needs {first.needs_tier or 'a rule granting it'}"
    else:
        escalate_to = _team_tier(policy, page_team, on_duty_tier) if verdict is Verdict.ESCALATE else ""
        missing = ""
    summary = _summary(
        verdict, confident=confident, top=top, acts=acts_on_top, escalate_to=escalate_to, missing=missing
    )
    return Decision(
        verdict=verdict,
        on_duty_tier=on_duty_tier,
        actions=tuple(options),
        escalate_to=escalate_to,
        missing_authority=missing,
        page_team=page_team,
        page_contacts=_contacts(policy, page_team),
        escalations=tuple(escalations),
        is_confident=confident,
        summary=summary,
        handoff=handoff_text(
            diagnosis, on_duty_tier=on_duty_tier, options=tuple(options), escalations=tuple(escalations)
        ),
    )


def _considered(hypotheses: tuple[Hypothesis, ...]) -> list[Hypothesis]:
    out = [hypotheses[0]]
    for h in hypotheses[1:MAX_HYPOTHESES]:
        if h.confidence >= MIN_CONFIDENCE:
            out.append(h)
    return out


def _actions_for(hypothesis: Hypothesis) -> list[tuple[str, str]]:
    actions = [(str(a), why) for a, why in FAULT_ACTIONS.get(hypothesis.fault, ())]
    changed = any(
        e.kind is EvidenceKind.RECENT_CHANGE
        and e.stance is Stance.SUPPORTS
        and e.service == hypothesis.service
        for e in hypothesis.evidence
    )
    if changed and all(a != ActionKind.ROLLBACK for a, _ in actions):
        actions.append((str(ActionKind.ROLLBACK), "a change on this service is part of the evidence"))
    return actions


def _weigh(
    policy: Policy,
    *,
    action: str,
    why: str,
    hypothesis: Hypothesis,
    on_duty_tier: str,
    catalog: CatalogLookup,
    options: list[ActionOption],
    escalations: list[Escalation],
) -> None:
    if policy.action(action) is None:
        return  # the organisation has no runbook for it: nothing to offer or escalate
    service = hypothesis.service
    if any(o.action == action and o.service == service for o in options) or any(
        e.action == action and e.service == service for e in escalations
    ):
        return
    tier = service_tier_of(service, policy=policy, catalog=catalog)
    rule = grant_for(policy, action=action, service=service, service_tier=tier, tier=on_duty_tier)
    if rule is not None:
        reason = f"{hypothesis.fault} in {service}: {why}"
        options.append(
            ActionOption(
                action=action,
                service=service,
                tier=rule.min_tier,
                needs_approval_from=approvers(rule),
                reason=reason,
            )
        )
        return
    lowest = lowest_granting_tier(policy, action=action, service=service, service_tier=tier)
    team = owner_of(service, policy=policy, catalog=catalog)
    if lowest is None:
        reason = f"no rule grants {action} on {service} (service tier {tier or '-'}) to any tier"
        escalations.append(
            Escalation(action=action, service=service, needs_tier="", team=team, reason=reason)
        )
        return
    reason = f"{action} on {service} needs {lowest.min_tier} (rules[{lowest.index}]); on duty: {on_duty_tier}"
    escalations.append(
        Escalation(action=action, service=service, needs_tier=lowest.min_tier, team=team, reason=reason)
    )


def _page_option(
    policy: Policy, top: Hypothesis, *, on_duty_tier: str, catalog: CatalogLookup, page_team: str
) -> ActionOption | None:
    if policy.action(ActionKind.PAGE) is None:
        return None
    tier = service_tier_of(top.service, policy=policy, catalog=catalog)
    rule = grant_for(
        policy, action=ActionKind.PAGE, service=top.service, service_tier=tier, tier=on_duty_tier
    )
    if rule is None:
        return None
    return ActionOption(
        action=str(ActionKind.PAGE),
        service=top.service,
        tier=rule.min_tier,
        needs_approval_from=approvers(rule),
        reason=f"page {page_team or 'the owner'}: they own the suspected cause {top.service}",
    )


def _is_destructive(policy: Policy, action: str) -> bool:
    spec = policy.action(action)
    return spec.is_destructive if spec is not None else True


def _team_tier(policy: Policy, team: str, on_duty_tier: str) -> str:
    on_call = policy.team(team)
    tier = on_call.escalation_tier if on_call is not None and on_call.escalation_tier else ""
    if not tier or policy.rank(tier) <= policy.rank(on_duty_tier):
        above = policy.rank(on_duty_tier) + 1
        tier = policy.tiers[above] if 0 < above < len(policy.tiers) else tier or policy.tiers[-1]
    return f"{team}/{tier}" if team else tier


def _contacts(policy: Policy, team: str) -> tuple[str, ...]:
    on_call = policy.team(team)
    if on_call is None:
        return ()
    return (*on_call.contacts, *((on_call.slack_channel,) if on_call.slack_channel else ()))


def _summary(
    verdict: Verdict,
    *,
    confident: bool,
    top: Hypothesis,
    acts: list[ActionOption],
    escalate_to: str,
    missing: str,
) -> str:
    suspect = f"{top.service} ({top.fault}, {top.confidence:.0%})"
    if not confident:
        return (
            f"No confident cause (best guess {suspect}): take no destructive action; "
            f"escalate to {escalate_to} with the causal summary."
        )
    if verdict is Verdict.ACT:
        first = acts[0]
        approval = (
            f" after approval from {' or '.join(first.needs_approval_from)}"
            if first.needs_approval_from
            else ""
        )
        more = f"; beyond your authority: {missing}" if missing else ""
        return f"Act: {first.action} {first.service}{approval} — suspected cause {suspect}{more}."
    because = f" because {missing}" if missing else ""
    return f"Escalate to {escalate_to}{because} — suspected cause {suspect}."


def handoff_text(
    diagnosis: Diagnosis,
    *,
    on_duty_tier: str,
    options: tuple[ActionOption, ...],
    escalations: tuple[Escalation, ...],
) -> str:
    """Return the causal summary handed over on escalation: suspect, path, evidence, what lost, authority."""
    lines: list[str] = []
    if not diagnosis.hypotheses:
        lines.append(f"No hypothesis for {diagnosis.symptom or 'the symptom'}; investigate from the alert.")
    else:
        top = diagnosis.hypotheses[0]
        confidence = "confident" if diagnosis.is_confident else "NOT confident"
        lines.append(
            f"Suspected cause: {top.service} — {top.cause} ({top.fault}, {top.confidence:.0%}, {confidence})."
        )
        if top.path:
            lines.append("Path: " + " → ".join(top.path))
        if top.onset_at is not None:
            lines.append(f"Onset: {top.onset_at.isoformat()}")
        supporting = [e for e in top.evidence if e.stance is Stance.SUPPORTS][:4]
        lines.extend(f"- {e.summary} [{e.source}: {e.query}]" for e in supporting)
        for weak in diagnosis.weakened[:2]:
            lines.append(f"Weakened: {weak.hypothesis.service} ({weak.hypothesis.fault}) — {weak.reason}")
        for h in diagnosis.hypotheses[1:MAX_HYPOTHESES]:
            lines.append(f"Alternative: {h.service} ({h.fault}, {h.confidence:.0%})")
    if diagnosis.blast_radius:
        lines.append("Blast radius: " + ", ".join(diagnosis.blast_radius))
    done = ", ".join(f"{o.action} {o.service}" for o in options) or "nothing within authority"
    lines.append(f"On duty ({on_duty_tier}) may: {done}.")
    lines.extend(f"Needs authority: {e.reason}" for e in escalations)
    return "\n".join(lines)


class DecisionEnricher:
    """`ports.BriefEnricher` that fills `brief.decision` and `brief.owner` from the policy and catalog."""

    name = "respond"

    def __init__(self, policy: Policy, *, on_duty_tier: str, world: WorldModel | None = None) -> None:
        self.policy = policy
        self.on_duty_tier = on_duty_tier
        self.world = world

    def enrich(self, brief: Brief) -> Brief:
        """Return `brief` with the decision and the owner of the suspected cause filled in."""
        world = self.world

        def lookup(service: ServiceId) -> CatalogEntry | None:
            return world.catalog_entry(service, at=brief.generated_at) if world is not None else None

        decision = decide(brief, policy=self.policy, on_duty_tier=self.on_duty_tier, catalog=lookup)
        return replace(brief, decision=decision, owner=decision.page_team or brief.owner)
