"""Draw the pictures of the web pages as SVG strings: the dependency graph, sparklines and bar charts.

Pure functions, no I/O, deterministic: the same input gives byte-identical SVG, so pages can be
cached and tests can compare. Every label is XML-escaped: service names and alert text are untrusted.

The graph layout is layered (a simple Sugiyama): callers above, callees below, so a symptom sits
above its cause and the symptom-to-cause path runs downwards.

    layer 0     frontend ─┐            (no callers: entry points)
                          ▼
    layer 1     checkout ───► cart     (one hop down the calls)
                          ▼
    layer 2     payments               (the suspected cause, ringed)
"""

from collections.abc import Collection, Iterable, Sequence
from html import escape
from itertools import pairwise

from missioncontrol.domain.ids import ServiceId
from missioncontrol.domain.topology import ServiceGraph

NODE_W = 132
NODE_H = 30
GAP_X = 28
GAP_Y = 56
PAD = 16
MAX_LABEL = 18


def neighbourhood(graph: ServiceGraph, around: Iterable[ServiceId], *, hops: int = 1) -> ServiceGraph:
    """Return the part of `graph` within `hops` calls (either way) of the services `around`."""
    keep: set[ServiceId] = set()
    for service in around:
        keep.add(service)
        keep.update(graph.upstream(service, max_hops=hops))
        keep.update(graph.downstream(service, max_hops=hops))
    edges = frozenset((a, b) for a, b in graph.edges if a in keep and b in keep)
    isolated = frozenset(s for s in keep if s in graph.services or s in set(around))
    return ServiceGraph(edges=edges, extra_services=isolated)


def layers_of(graph: ServiceGraph) -> list[list[ServiceId]]:
    """Return the services in layers (callers before callees), each layer in a stable crossing-light order."""
    services = sorted(graph.services)
    depth: dict[ServiceId, int] = {}
    roots = [s for s in services if not graph.callers(s)]
    # Cycles can leave services with callers but no root above them: seed those by name, in order.
    for seed in [*roots, *services]:
        if seed in depth:
            continue
        depth[seed] = 0
        pending = [seed]
        while pending:
            nxt: list[ServiceId] = []
            for node in pending:
                for callee in graph.callees(node):
                    if callee not in depth:
                        depth[callee] = depth[node] + 1
                        nxt.append(callee)
            pending = nxt
    count = max(depth.values(), default=-1) + 1
    layers: list[list[ServiceId]] = [[] for _ in range(count)]
    for service in services:
        layers[depth[service]].append(service)
    # Barycentre ordering, two sweeps down: a node sits under the mean position of its callers.
    for _ in range(2):
        for i in range(1, count):
            above = {s: k for k, s in enumerate(layers[i - 1])}

            def key(s: ServiceId, above: dict[ServiceId, int] = above) -> tuple[float, str]:
                positions = [above[c] for c in graph.callers(s) if c in above]
                return (sum(positions) / len(positions) if positions else float(len(above)), s)

            layers[i].sort(key=key)
    return layers


def _label(name: str, limit: int = MAX_LABEL) -> str:
    return escape(name if len(name) <= limit else name[: limit - 1] + "…")


def render_graph_svg(graph: ServiceGraph, path: Sequence[ServiceId], anomalous: Collection[ServiceId]) -> str:
    """Return an SVG of `graph`, the symptom-to-cause `path` highlighted and `anomalous` services marked."""
    layers = layers_of(graph)
    width = max((len(layer) for layer in layers), default=1) * (NODE_W + GAP_X) - GAP_X + 2 * PAD
    height = max(len(layers), 1) * (NODE_H + GAP_Y) - GAP_Y + 2 * PAD
    where: dict[ServiceId, tuple[float, float]] = {}
    for i, layer in enumerate(layers):
        row_w = len(layer) * (NODE_W + GAP_X) - GAP_X
        x0 = (width - row_w) / 2
        for k, service in enumerate(layer):
            where[service] = (x0 + k * (NODE_W + GAP_X), PAD + i * (NODE_H + GAP_Y))
    on_path = set(pairwise(path))
    path_nodes = set(path)
    cause = path[-1] if path else None
    symptom = path[0] if path else None
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="dependency graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>',
    ]
    for a, b in sorted(graph.edges):
        if a == b or a not in where or b not in where:
            continue
        ax, ay = where[a]
        bx, by = where[b]
        x1, y1 = ax + NODE_W / 2, ay + NODE_H
        x2, y2 = bx + NODE_W / 2, by
        if by <= ay:  # an edge going up or sideways (a cycle): leave from the side
            x1, y1 = ax + NODE_W, ay + NODE_H / 2
            x2, y2 = bx + NODE_W, by + NODE_H / 2
        cls = "edge on-path" if (a, b) in on_path else "edge"
        parts.append(
            f'<line class="{cls}" data-from="{escape(a)}" data-to="{escape(b)}" x1="{x1:.1f}" y1="{y1:.1f}" '
            f'x2="{x2:.1f}" y2="{y2:.1f}" marker-end="url(#arrow)"/>'
        )
    for service in sorted(where):
        x, y = where[service]
        classes = ["node"]
        if service in anomalous:
            classes.append("anomalous")
        if service in path_nodes:
            classes.append("on-path")
        if service == cause:
            classes.append("cause")
        if service == symptom:
            classes.append("symptom")
        title = escape(service) + (" (anomalous)" if service in anomalous else "")
        parts.append(
            f'<g class="{" ".join(classes)}" data-service="{escape(service)}"><title>{title}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
            f'<text x="{x + NODE_W / 2:.1f}" y="{y + NODE_H / 2 + 4:.1f}" text-anchor="middle">'
            f"{_label(service)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_sparkline(
    values: Sequence[float], *, width: int = 120, height: int = 28, mark_index: int | None = None
) -> str:
    """Return a small line chart of `values` (a series over the window); `mark_index` draws the onset."""
    finite = [v for v in values if v == v]  # NaN != NaN
    if len(finite) < 2:
        return render_value_bars(finite[0] if finite else None, None, width=width, height=height)
    lo, hi = min(finite), max(finite)
    span = (hi - lo) or 1.0
    step = (width - 2) / (len(values) - 1)
    points = []
    for i, v in enumerate(values):
        if v != v:
            continue
        points.append(f"{1 + i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}")
    marker = ""
    if mark_index is not None and 0 <= mark_index < len(values):
        mx = 1 + mark_index * step
        marker = f'<line class="onset" x1="{mx:.1f}" y1="0" x2="{mx:.1f}" y2="{height}"/>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark series" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="series over the window">'
        f'{marker}<polyline fill="none" points="{" ".join(points)}"/></svg>'
    )


def render_value_bars(
    value: float | None, baseline: float | None, *, width: int = 120, height: int = 28
) -> str:
    """Return two bars, observed value against baseline, for evidence without a stored series."""
    known = [abs(v) for v in (value, baseline) if v is not None]
    top = max(known, default=0.0) or 1.0
    bar_h = (height - 6) / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark bars" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="value against baseline">'
    ]
    for row, (cls, v) in enumerate((("value", value), ("baseline", baseline))):
        if v is None:
            continue
        w = max(1.0, abs(v) / top * (width - 2))
        parts.append(
            f'<rect class="{cls}" x="1" y="{2 + row * (bar_h + 2):.1f}" width="{w:.1f}" height="{bar_h:.1f}">'
            f"<title>{cls} {v:.4g}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_bar_chart(
    items: Sequence[tuple[str, float]], *, width: int = 520, bar_h: int = 18, unit: str = ""
) -> str:
    """Return a horizontal bar chart, one labelled bar per (label, value), in the order given."""
    label_w = 230
    height = max(1, len(items)) * (bar_h + 6) + 8
    top = max((v for _, v in items), default=0.0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bar-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" role="img">'
    ]
    if not items:
        parts.append(f'<text x="4" y="{bar_h}" class="empty">no data yet</text>')
    for i, (label, value) in enumerate(items):
        y = 4 + i * (bar_h + 6)
        w = max(1.0, value / top * (width - label_w - 70)) if value > 0 else 0.0
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 5}" text-anchor="end">{_label(label, 32)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 5}" class="value">'
            f"{value:.3g}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
