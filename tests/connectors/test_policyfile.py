"""The policy file: the sample parses, and each mistake is reported with its file, YAML path and problem."""

from pathlib import Path

import pytest
import yaml

from missioncontrol.connectors.policyfile import SAMPLE_POLICY, read_policy, to_policy
from missioncontrol.domain.respond import CommandRunner, HttpRunner, PolicyError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def sample() -> dict:
    return yaml.safe_load(SAMPLE_POLICY.read_text())


def problems_of(raw: dict) -> str:
    with pytest.raises(PolicyError) as info:
        to_policy(yaml.safe_dump(raw), path="ops/policy.yaml")
    return str(info.value)


def test_the_sample_policy_parses_into_ordered_tiers_actions_and_rules() -> None:
    policy = read_policy(SAMPLE_POLICY)
    assert policy.tiers == ("L1", "L2", "L3")
    assert policy.at_least("L3", "L2") and not policy.at_least("L1", "L2")
    restart = policy.action("restart")
    assert restart is not None and isinstance(restart.runner, CommandRunner)
    assert restart.runner.argv[:3] == ("kubectl", "rollout", "restart")
    flag_off = policy.action("flag_off")
    assert flag_off is not None and isinstance(flag_off.runner, HttpRunner)
    assert policy.rules[1].approval is not None and policy.rules[1].approval.roles == ("incident-commander",)
    assert policy.principal("alice") is not None and policy.principal("alice").tier == "L1"  # type: ignore[union-attr]
    page = policy.action("page")
    assert page is not None and not page.is_destructive


def test_the_documented_example_is_the_sample() -> None:
    text = DOCS.read_text()
    assert SAMPLE_POLICY.read_text().strip() in text, "docs/policy.md must embed samples/policy.yaml verbatim"


def test_an_unknown_action_in_a_rule_names_the_yaml_path() -> None:
    raw = sample()
    raw["rules"][2]["actions"] = ["reboot"]
    message = problems_of(raw)
    assert "ops/policy.yaml: rules[2].actions[0]: unknown action 'reboot'" in message


def test_an_unknown_tier_and_role_are_each_reported() -> None:
    raw = sample()
    raw["rules"][0]["min_tier"] = "L9"
    raw["principals"][1]["roles"] = ["operator", "owner"]
    message = problems_of(raw)
    assert "rules[0].min_tier: unknown tier 'L9'" in message
    assert "principals[1].roles[1]: unknown role 'owner'" in message


def test_a_misspelt_key_is_refused_with_its_path() -> None:
    raw = sample()
    raw["rules"][3]["approvals"] = raw["rules"][3].pop("approval")
    assert "rules[3].approvals: unknown key" in problems_of(raw)


def test_a_runner_needs_exactly_one_of_command_or_http() -> None:
    raw = sample()
    raw["actions"]["restart"]["runner"] = {}
    assert "actions.restart.runner: give exactly one of `command` or `http`" in problems_of(raw)


def test_a_template_placeholder_must_be_a_declared_parameter() -> None:
    raw = sample()
    raw["actions"]["scale"]["runner"]["command"]["command"].append("--cluster={cluster}")
    message = problems_of(raw)
    assert "actions.scale.runner.command.command[6]: placeholder {cluster} is not a parameter" in message


def test_an_approval_must_name_who_may_approve() -> None:
    raw = sample()
    raw["rules"][1]["approval"] = {"ttl_s": 60}
    assert "rules[1].approval: name who may approve" in problems_of(raw)


def test_not_yaml_names_the_line() -> None:
    with pytest.raises(PolicyError, match=r"ops/policy.yaml: line 3, column \d+: not valid YAML"):
        to_policy("version: 1\ntiers: [L1\n  - x: [", path="ops/policy.yaml")


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        read_policy(tmp_path / "nope.yaml")


def test_a_duplicate_token_is_refused() -> None:
    raw = sample()
    raw["principals"][1]["token_sha256"] = raw["principals"][0]["token_sha256"]
    assert "principals[1].token_sha256: same token as principals[0]" in problems_of(raw)
