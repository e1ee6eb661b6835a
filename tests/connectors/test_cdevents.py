"""CDEvents mapping: the spec's own service.deployed / upgraded / rolledback examples."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from missioncontrol.connectors.cdevents import to_changes
from missioncontrol.domain import ChangeKind

SAMPLES = (
    Path(__file__).resolve().parents[2] / "src" / "missioncontrol" / "connectors" / "cdevents" / "samples"
)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


@pytest.mark.parametrize(
    ("name", "verb"),
    [
        ("service_deployed-v0.4.json", "Deployed"),
        ("service_deployed-v0.2.json", "Deployed"),
        ("service_upgraded-v0.5-draft.json", "Upgraded to"),
        ("service_rolledback-v0.5-draft.json", "Rolled back to"),
    ],
)
def test_spec_examples_become_deploy_changes_naming_artifact_version_and_environment(
    name: str, verb: str
) -> None:
    (change,), rejections = to_changes(sample(name))
    assert rejections == []
    assert change.service == "mySubject123"
    assert change.kind is ChangeKind.DEPLOY
    assert change.at == datetime(2023, 3, 20, 14, 27, 5, 315384, tzinfo=UTC)
    assert change.description.startswith(f"{verb} myapp@sha256:0b31b1c02ff4")
    assert " in test123 " in change.description


def test_subject_kind_prefix_is_dropped_and_the_purl_names_the_service_when_no_id() -> None:
    event = sample("service_deployed-v0.4.json")
    event["subject"]["id"] = "service/cart"
    assert to_changes(event)[0][0].service == "cart"
    del event["subject"]["id"]
    assert to_changes(event)[0][0].service == "myapp"


def test_cloudevents_envelope_and_batches_are_accepted_and_bad_events_named() -> None:
    good = sample("service_deployed-v0.4.json")
    envelope = {
        "specversion": "1.0",
        "type": good["context"]["type"],
        "id": "1",
        "source": "/argocd",
        "data": good,
    }
    no_artifact = sample("service_upgraded-v0.5-draft.json")
    del no_artifact["subject"]["content"]["artifactId"]
    pipeline = {
        "context": {"type": "dev.cdevents.pipelinerun.started.0.2.0", "timestamp": "x"},
        "subject": {},
    }
    removed = sample("service_deployed-v0.4.json")
    removed["context"]["type"] = "dev.cdevents.service.removed.0.3.0"
    changes, rejections = to_changes([good, envelope, no_artifact, pipeline, removed])
    assert len(changes) == 2  # removed changes no version: skipped, not an error
    assert [(r.where, r.reason.split(" ")[0]) for r in rejections] == [
        ("[2].subject.content.artifactId", "is"),
        ("[3].context.type", "'dev.cdevents.pipelinerun.started.0.2.0'"),
    ]


def test_a_timestamp_without_zone_is_rejected() -> None:
    event = sample("service_deployed-v0.4.json")
    event["context"]["timestamp"] = "2023-03-20T14:27:05"
    changes, (rejection,) = to_changes(event)
    assert changes == [] and rejection.where == "$.context.timestamp" and "time zone" in rejection.reason


def test_a_timestamp_no_store_can_hold_is_rejected_by_name() -> None:
    event = sample("service_deployed-v0.4.json")
    event["context"]["timestamp"] = "0001-01-01T00:00:00+14:00"  # no UTC form: was an OverflowError
    changes, (rejection,) = to_changes(event)
    assert changes == [] and rejection.where == "$.context.timestamp" and "1970..2299" in rejection.reason
