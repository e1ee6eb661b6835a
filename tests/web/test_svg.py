"""The pictures: a deterministic layered graph with the path highlighted, sparklines and bars."""

import xml.etree.ElementTree as ET

from missioncontrol.domain import ServiceGraph, ServiceId
from missioncontrol.web.svg import (
    layers_of,
    neighbourhood,
    render_bar_chart,
    render_graph_svg,
    render_sparkline,
    render_value_bars,
)

NS = "{http://www.w3.org/2000/svg}"


def ids(*names: str) -> tuple[ServiceId, ...]:
    return tuple(ServiceId(n) for n in names)


def test_callers_sit_above_callees(graph: ServiceGraph) -> None:
    layers = layers_of(graph)
    depth = {s: i for i, layer in enumerate(layers) for s in layer}
    for a, b in graph.edges:
        assert depth[a] < depth[b], (a, b)
    assert layers[0] == ["frontend"]


def test_graph_svg_marks_path_cause_and_anomalous_and_is_deterministic(graph: ServiceGraph) -> None:
    path = ids("frontend", "checkout", "payments")
    svg = render_graph_svg(graph, path, {ServiceId("payments"), ServiceId("redis")})
    assert svg == render_graph_svg(graph, path, {ServiceId("redis"), ServiceId("payments")})
    root = ET.fromstring(svg)
    nodes = {g.get("data-service"): g.get("class", "").split() for g in root.iter(f"{NS}g")}
    assert set(nodes) == set(graph.services)
    assert "cause" in nodes["payments"] and "anomalous" in nodes["payments"]
    assert "symptom" in nodes["frontend"] and "on-path" in nodes["checkout"]
    assert "anomalous" in nodes["redis"] and "on-path" not in nodes["redis"]
    on_path = {
        (e.get("data-from"), e.get("data-to"))
        for e in root.iter(f"{NS}line")
        if "on-path" in e.get("class", "")
    }
    assert on_path == {("frontend", "checkout"), ("checkout", "payments")}


def test_labels_are_escaped_and_cycles_do_not_hang() -> None:
    graph = ServiceGraph.from_edges([("a<script>", "b"), ("b", "c"), ("c", "a<script>")])
    svg = render_graph_svg(graph, ids("a<script>", "b"), set())
    assert "<script>" not in svg and "a&lt;script&gt;" in svg
    ET.fromstring(svg)


def test_neighbourhood_keeps_one_hop_around(graph: ServiceGraph) -> None:
    near = neighbourhood(graph, ids("payments"), hops=1)
    assert near.services == {"payments", "checkout", "payments-db"}


def test_sparkline_and_bars() -> None:
    spark = ET.fromstring(render_sparkline([1, 2, 3, 10, 11], mark_index=3))
    assert "series" in spark.get("class", "")
    assert len(spark.find(f"{NS}polyline").get("points").split()) == 5
    bars = ET.fromstring(render_value_bars(4.0, 1.0))
    widths = {r.get("class"): float(r.get("width")) for r in bars.iter(f"{NS}rect")}
    assert widths["value"] > 3 * widths["baseline"]
    chart = ET.fromstring(render_bar_chart([("a", 3.0), ("b", 1.0)]))
    assert len(list(chart.iter(f"{NS}rect"))) == 2
