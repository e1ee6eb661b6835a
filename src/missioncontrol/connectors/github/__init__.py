"""GitHub: `deployment` and `deployment_status` webhooks as domain changes.

changes, rejections = to_changes(request.headers["X-GitHub-Event"], json.loads(body))
"""

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from missioncontrol.connectors.github.mapping import to_change, to_changes
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = ["GitHubConfig", "spec", "to_change", "to_changes"]


class GitHubConfig(BaseModel):
    """Settings for GitHub deployment webhooks."""

    webhook_secret: SecretStr | None = Field(
        default=None,
        description="The webhook's secret: when set, X-Hub-Signature-256 must match every delivery.",
    )


spec = ConnectorSpec(
    name="github",
    summary="GitHub deployment and deployment_status webhooks into the change log.",
    capabilities=frozenset({Capability.CHANGE_SOURCE}),
    config=GitHubConfig,
    docs="docs/connectors/github.md",
    samples=Path(__file__).parent / "samples",
)
