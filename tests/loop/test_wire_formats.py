"""The sender's payloads are the real formats: each parses back, through its connector, to what was sent."""

from dataclasses import replace
from datetime import UTC, datetime

from missioncontrol import bootstrap
from missioncontrol.connectors.alertmanager import to_alerts
from missioncontrol.connectors.backstage import parse_catalog
from missioncontrol.connectors.cdevents import to_changes
from missioncontrol.connectors.otlp import parse_logs_json, parse_metrics_json, parse_traces_json
from missioncontrol.domain import Telemetry
from missioncontrol.loop import split_telemetry
from missioncontrol.loop.sender import _halves


def test_alertmanager_webhook_maps_back_to_the_same_alert() -> None:
    alert = bootstrap.the_demo_case().case.alert
    assert alert is not None
    received = datetime(2026, 1, 1, tzinfo=UTC)

    body = bootstrap.wire_formats().alerts([alert])
    alerts, problems = to_alerts(body, received_at=received)

    assert body["version"] == "4" and problems == []
    (back,) = alerts
    assert (back.fingerprint, back.name, back.severity, back.service, back.signal, back.summary) == (
        alert.fingerprint,
        alert.name,
        alert.severity,
        alert.service,
        alert.signal,
        alert.summary,
    )
    # To the microsecond: a replayed alert a fraction of a millisecond off moves the investigation's
    # window over samples on its edge, and the live brief then differs from the offline one.
    assert back.started_at == alert.started_at
    assert back.received_at == received
    odd = replace(alert, started_at=datetime(2023, 1, 29, 9, 46, 9, 77913, tzinfo=UTC))
    (exact,), _ = to_alerts(bootstrap.wire_formats().alerts([odd]), received_at=received)
    assert exact.started_at == odd.started_at


def test_cdevents_deploys_map_back_to_the_same_services_and_times() -> None:
    changes = bootstrap.the_demo_case().case.changes
    assert changes

    events = bootstrap.wire_formats().changes(changes)
    back, rejections = to_changes(list(events))

    assert rejections == []
    assert [(c.service, c.kind, c.at) for c in back] == [(c.service, c.kind, c.at) for c in changes]
    assert all(e["context"]["type"].startswith("dev.cdevents.service.deployed.") for e in events)


def test_backstage_catalog_declares_every_call_of_the_graph() -> None:
    graph = bootstrap.the_demo_case().case.graph
    assert graph is not None

    catalog = parse_catalog(bootstrap.wire_formats().catalog(graph))

    assert catalog.rejections == ()
    declared = {(e.service, d) for e in catalog.entries for d in e.depends_on}
    assert declared == {(a, b) for a, b in graph.edges if a != b}
    assert {e.service for e in catalog.entries} == graph.services


def test_otlp_bodies_in_pieces_carry_every_sample_once() -> None:
    telemetry = bootstrap.the_demo_case().case.telemetry
    spans, logs, points = 0, 0, 0
    for part in split_telemetry(telemetry, chunk=700):
        bodies = bootstrap.wire_formats().telemetry(part)
        assert len(bodies) == 1, "a piece holds one kind of sample"
        for signal, body in bodies.items():
            parse = {"traces": parse_traces_json, "logs": parse_logs_json, "metrics": parse_metrics_json}
            got, rejections = parse[signal](body)
            assert rejections == []
            spans += len(got.spans)
            logs += len(got.logs)
            points += sum(len(m.values) for m in got.metrics)
    assert (spans, logs) == (len(telemetry.spans), len(telemetry.logs))
    assert points == sum(len(m.values) for m in telemetry.metrics)


def test_a_lone_series_too_big_for_one_body_is_split_by_points() -> None:
    series = bootstrap.the_demo_case().case.telemetry.metrics[0]

    halves = _halves(Telemetry(metrics=(series,)))

    assert halves is not None
    a, b = halves
    assert a.metrics[0].timestamps + b.metrics[0].timestamps == series.timestamps
    assert a.metrics[0].values + b.metrics[0].values == series.values
