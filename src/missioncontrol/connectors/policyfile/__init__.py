"""The policy file: who may do what on which service, and whose approval it needs (docs/policy.md)."""

from pathlib import Path

from missioncontrol.connectors.policyfile.mapping import PLACEHOLDER, to_policy
from missioncontrol.domain.respond import BUILTIN_PARAMS, Policy, PolicyError
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = ["BUILTIN_PARAMS", "PLACEHOLDER", "SAMPLES", "SAMPLE_POLICY", "read_policy", "spec", "to_policy"]

SAMPLES = Path(__file__).resolve().parent / "samples"
SAMPLE_POLICY = SAMPLES / "policy.yaml"


def read_policy(path: Path) -> Policy:
    """Read and validate the policy file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), [("", f"cannot read the policy file: {exc.strerror or exc}")]) from None
    return to_policy(text, path=str(path))


spec = ConnectorSpec(
    name="policyfile",
    summary="Who may do what on which service, with whose approval (MISSIONCONTROL_POLICY_PATH).",
    capabilities=frozenset({Capability.POLICY_SOURCE}),
    docs="docs/connectors/policyfile.md",
    samples=SAMPLES,
)
