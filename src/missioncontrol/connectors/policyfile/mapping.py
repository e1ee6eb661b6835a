"""Policy YAML → domain `Policy`: pydantic models for the shape, then cross-checks for the names.

`to_policy(yaml_text, path=...)` is pure. Every problem is reported at once, each with the YAML path
(`rules[2].actions[0]`) and what was wrong, in one `PolicyError` naming the file. The format is
documented in docs/policy.md; `samples/policy.yaml` is the complete example.
"""

import json
import re
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from missioncontrol.domain.respond import (
    BUILTIN_PARAMS,
    ActionSpec,
    ApprovalRule,
    CommandRunner,
    HttpRunner,
    OnCall,
    Policy,
    PolicyError,
    Principal,
    Rule,
    Runner,
    ServiceOverride,
)

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CommandModel(_Strict):
    command: list[str] = Field(min_length=1, description="argv; each item a template, run without a shell")
    timeout_s: float = Field(default=60.0, gt=0, le=3600)


class HttpModel(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = Field(pattern=r"^https?://", description="template; values are URL-quoted")
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | None = Field(default=None, description="JSON body; string values are templates")
    timeout_s: float = Field(default=30.0, gt=0, le=600)


class RunnerModel(_Strict):
    command: CommandModel | None = None
    http: HttpModel | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "RunnerModel":
        if (self.command is None) == (self.http is None):
            raise ValueError("give exactly one of `command` or `http`")
        return self


class ActionModel(_Strict):
    description: str = ""
    destructive: bool = True
    params: dict[str, str] = Field(default_factory=dict, description="name: regex a value must fully match")
    runner: RunnerModel

    @field_validator("params")
    @classmethod
    def _patterns_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            if name in BUILTIN_PARAMS:
                raise ValueError(f"{name!r} is a built-in parameter; do not declare it")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern of {name!r} is not a regular expression: {exc}") from None
        return value


class TeamModel(_Strict):
    name: str = Field(pattern=NAME)
    contacts: list[str] = Field(default_factory=list)
    slack_channel: str = ""
    pagerduty_routing_key_ref: str = ""
    escalation_tier: str = ""


class PrincipalModel(_Strict):
    name: str = Field(pattern=NAME)
    tier: str
    roles: list[str] = Field(default_factory=list)
    team: str = ""
    token_sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")


class ApprovalModel(_Strict):
    roles: list[str] = Field(default_factory=list)
    min_tier: str = ""
    count: int = Field(default=1, ge=1, le=5)
    ttl_s: float = Field(default=900.0, gt=0, le=86400)
    allow_self: bool = False

    @model_validator(mode="after")
    def _someone_can_approve(self) -> "ApprovalModel":
        if not self.roles and not self.min_tier:
            raise ValueError("name who may approve: `roles`, `min_tier` or both")
        return self


class RuleModel(_Strict):
    actions: list[str] = Field(min_length=1)
    min_tier: str
    services: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    service_tiers: list[str] = Field(default_factory=list)
    approval: ApprovalModel | None = None
    roles: list[str] = Field(default_factory=list)


class ServiceModel(_Strict):
    service: str
    owner: str = ""
    tier: str = ""


class PolicyModel(_Strict):
    version: Literal[1]
    tiers: list[str] = Field(min_length=1, description="lowest authority first")
    roles: list[str] = Field(default_factory=list)
    default_team: str = ""
    teams: list[TeamModel] = Field(default_factory=list)
    services: list[ServiceModel] = Field(default_factory=list)
    principals: list[PrincipalModel] = Field(default_factory=list)
    actions: dict[str, ActionModel] = Field(default_factory=dict)
    rules: list[RuleModel] = Field(default_factory=list)


def to_policy(yaml_text: str, *, path: str) -> Policy:
    """Parse and validate a policy file; raise `PolicyError` listing every problem with its YAML path."""
    try:
        raw = yaml.safe_load(yaml_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise PolicyError(path, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(raw, dict):
        raise PolicyError(path, [("", f"the top level must be a mapping, not {type(raw).__name__}")])
    try:
        model = PolicyModel.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(path, [(_yaml_path(e["loc"]), _message(e)) for e in exc.errors()]) from None
    problems = _cross_check(model)
    if problems:
        raise PolicyError(path, problems)
    return _to_domain(model, path=path)


def _yaml_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after[_exactly_one(), RunnerModel]",):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (check its spelling against docs/policy.md)"
    if error["type"] == "missing":
        return "required key is missing"
    text = str(error["msg"]).removeprefix("Value error, ")
    return f"{text} (got {error['input']!r})" if error["type"] == "literal_error" else text


def _cross_check(model: PolicyModel) -> list[tuple[str, str]]:
    """Return (yaml path, problem) for every name used but not declared, and every duplicate."""
    problems: list[tuple[str, str]] = []
    tiers, roles, teams = set(model.tiers), set(model.roles), {t.name for t in model.teams}

    def dupes(names: list[str], where: str) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                problems.append((f"{where}[{i}]", f"{name!r} is declared twice"))
            seen.add(name)

    def tier(value: str, where: str) -> None:
        if value and value not in tiers:
            problems.append((where, f"unknown tier {value!r}; declared tiers: {', '.join(model.tiers)}"))

    def role(value: str, where: str) -> None:
        if value not in roles:
            problems.append(
                (where, f"unknown role {value!r}; declared roles: {', '.join(model.roles) or '-'}")
            )

    dupes(model.tiers, "tiers")
    dupes(model.roles, "roles")
    dupes([t.name for t in model.teams], "teams")
    dupes([p.name for p in model.principals], "principals")
    if model.default_team and model.default_team not in teams:
        problems.append(("default_team", f"unknown team {model.default_team!r}"))
    for i, team in enumerate(model.teams):
        tier(team.escalation_tier, f"teams[{i}].escalation_tier")
    for i, svc in enumerate(model.services):
        if svc.owner and svc.owner not in teams:
            problems.append((f"services[{i}].owner", f"unknown team {svc.owner!r}"))
    tokens: dict[str, int] = {}
    for i, p in enumerate(model.principals):
        tier(p.tier, f"principals[{i}].tier")
        if not p.tier:
            problems.append((f"principals[{i}].tier", "a principal needs a tier"))
        for j, r in enumerate(p.roles):
            role(r, f"principals[{i}].roles[{j}]")
        if p.team and p.team not in teams:
            problems.append((f"principals[{i}].team", f"unknown team {p.team!r}"))
        if p.token_sha256:
            if p.token_sha256 in tokens:
                problems.append(
                    (f"principals[{i}].token_sha256", f"same token as principals[{tokens[p.token_sha256]}]")
                )
            tokens[p.token_sha256] = i
    for name, action in model.actions.items():
        where = f"actions.{name}"
        if not re.fullmatch(NAME, name):
            problems.append((where, "action names are letters, digits, '.', '_' and '-'"))
        known = set(BUILTIN_PARAMS) | set(action.params)
        for field_where, template in _templates(action.runner):
            for placeholder in PLACEHOLDER.findall(template):
                if placeholder not in known:
                    problems.append(
                        (
                            f"{where}.runner.{field_where}",
                            f"placeholder {{{placeholder}}} is not a parameter; "
                            f"declare it under {where}.params or use one of {', '.join(sorted(known))}",
                        )
                    )
    for i, rule in enumerate(model.rules):
        where = f"rules[{i}]"
        tier(rule.min_tier, f"{where}.min_tier")
        for j, a in enumerate(rule.actions):
            if a != "*" and a not in model.actions:
                declared = ", ".join(model.actions) or "-"
                problems.append(
                    (f"{where}.actions[{j}]", f"unknown action {a!r}; declared actions: {declared}")
                )
        for j, r in enumerate(rule.roles):
            role(r, f"{where}.roles[{j}]")
        if rule.approval is not None:
            tier(rule.approval.min_tier, f"{where}.approval.min_tier")
            for j, r in enumerate(rule.approval.roles):
                role(r, f"{where}.approval.roles[{j}]")
    return problems


def _templates(runner: RunnerModel) -> list[tuple[str, str]]:
    if runner.command is not None:
        return [(f"command.command[{i}]", arg) for i, arg in enumerate(runner.command.command)]
    assert runner.http is not None
    found = [("http.url", runner.http.url)]
    found += [(f"http.headers.{k}", v) for k, v in runner.http.headers.items()]
    if runner.http.body is not None:
        found += [(f"http.body.{k}", s) for k, s in _strings(runner.http.body)]
    return found


def _strings(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(prefix, value)]
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _strings(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _strings(v, f"{prefix}[{i}]")]
    return []


def _runner(model: RunnerModel) -> Runner:
    if model.command is not None:
        return CommandRunner(argv=tuple(model.command.command), timeout_s=model.command.timeout_s)
    assert model.http is not None
    http = model.http
    return HttpRunner(
        method=http.method,
        url=http.url,
        headers=tuple(sorted(http.headers.items())),
        body=json.dumps(http.body, sort_keys=True) if http.body is not None else "",
        timeout_s=http.timeout_s,
    )


def _to_domain(model: PolicyModel, *, path: str) -> Policy:
    return Policy(
        tiers=tuple(model.tiers),
        roles=tuple(model.roles),
        default_team=model.default_team,
        path=path,
        teams=tuple(
            OnCall(
                team=t.name,
                contacts=tuple(t.contacts),
                slack_channel=t.slack_channel,
                pagerduty_routing_key_ref=t.pagerduty_routing_key_ref,
                escalation_tier=t.escalation_tier,
            )
            for t in model.teams
        ),
        services=tuple(
            ServiceOverride(service=s.service, owner=s.owner, tier=s.tier) for s in model.services
        ),
        principals=tuple(
            Principal(
                name=p.name, tier=p.tier, roles=tuple(p.roles), team=p.team, token_sha256=p.token_sha256
            )
            for p in model.principals
        ),
        actions=tuple(
            ActionSpec(
                name=name,
                runner=_runner(a.runner),
                description=a.description,
                params=tuple(sorted(a.params.items())),
                is_destructive=a.destructive,
            )
            for name, a in model.actions.items()
        ),
        rules=tuple(
            Rule(
                actions=tuple(r.actions),
                min_tier=r.min_tier,
                services=tuple(r.services),
                service_tiers=tuple(r.service_tiers),
                roles=tuple(r.roles),
                index=i,
                approval=(
                    ApprovalRule(
                        roles=tuple(r.approval.roles),
                        min_tier=r.approval.min_tier,
                        count=r.approval.count,
                        ttl_s=r.approval.ttl_s,
                        allow_self=r.approval.allow_self,
                    )
                    if r.approval is not None
                    else None
                ),
            )
            for i, r in enumerate(model.rules)
        ),
    )
