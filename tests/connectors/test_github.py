"""GitHub mapping: deployment and deployment_status webhooks as GitHub documents them."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from missioncontrol.connectors.github import to_changes
from missioncontrol.domain import ChangeKind

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "missioncontrol" / "connectors" / "github" / "samples"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def test_deployment_created_records_the_start_of_a_deploy() -> None:
    (change,), rejections = to_changes("deployment", sample("deployment-created.json"))
    assert rejections == []
    assert change.service == "Hello-World"
    assert change.kind is ChangeKind.DEPLOY
    assert change.at == datetime(2019, 5, 15, 15, 20, 53, tzinfo=UTC)
    assert change.description == (
        "GitHub deployment 145988746 of master@f95f852bd8fc to production started by Codertocat"
    )


def test_successful_status_records_the_end_of_a_deploy() -> None:
    (change,), _ = to_changes("deployment_status", sample("deployment_status-success.json"))
    assert change.at == datetime(2019, 5, 15, 15, 20, 55, tzinfo=UTC)
    assert change.description.endswith("to production succeeded")


def test_failed_status_with_a_service_in_the_deployment_payload() -> None:
    payload = sample("deployment_status-success.json")
    payload["deployment_status"].update(state="failure", description="health check failed")
    payload["deployment"]["payload"] = {"service": "checkout"}
    (change,), _ = to_changes("deployment_status", payload)
    assert change.service == "checkout"
    assert change.description.endswith("failed: health check failed")


@pytest.mark.parametrize("state", ["queued", "pending", "in_progress", "inactive"])
def test_non_final_states_change_nothing(state: str) -> None:
    payload = sample("deployment_status-success.json")
    payload["deployment_status"]["state"] = state
    assert to_changes("deployment_status", payload) == ([], [])


def test_errors_name_the_field() -> None:
    payload = sample("deployment_status-success.json")
    payload["deployment_status"]["state"] = "exploded"
    assert to_changes("deployment_status", payload)[1][0].where == "$.deployment_status.state"
    del payload["deployment"]
    assert to_changes("deployment_status", payload)[1][0].where == "$.deployment"
    assert to_changes("push", {})[1][0].where == "$.X-GitHub-Event"


def test_a_timestamp_no_store_can_hold_is_rejected_by_name() -> None:
    payload = sample("deployment_status-success.json")
    payload["deployment_status"]["created_at"] = "0026-05-24T02:17:16Z"
    changes, (rejection,) = to_changes("deployment_status", payload)
    assert changes == [] and rejection.where == "$.deployment_status.created_at"
    assert "1970..2299" in rejection.reason
