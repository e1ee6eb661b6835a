"""How handlers end: empty handlers blame their own service; handlers cut short blame the callee."""

from missioncontrol.domain import ServiceId, Span
from missioncontrol.engine.findings import ServiceFindings
from missioncontrol.engine.handlers import HandlerEnding, handler_endings
from missioncontrol.engine.logs import BrokenPair
from missioncontrol.engine.rank import CUT_SHORT_DISCOUNT, own_strength
from missioncontrol.engine.traces import SpanTree

MS = 1_000_000


def request(i: int, start_ms: float, calls: tuple[str, ...]) -> list[Span]:
    """One request to `front`: its handler calls each service in `calls` in turn, via client spans."""
    t = f"r{i}-{start_ms:.0f}"
    spans = [Span(t, "h", None, ServiceId("front"), "Recv", int(start_ms * MS), int((start_ms + 50) * MS))]
    for k, callee in enumerate(calls):
        a = start_ms + 1 + 10 * k
        spans.append(
            Span(t, f"c{k}", "h", ServiceId("front"), f"call {callee}", int(a * MS), int((a + 8) * MS))
        )
        spans.append(
            Span(t, f"s{k}", f"c{k}", ServiceId(callee), "serve", int((a + 1) * MS), int((a + 7) * MS))
        )
    return spans


def period(start_ms: float, mix: list[tuple[int, tuple[str, ...]]]) -> SpanTree:
    """Requests in the given mix (count, calls), then a closing span so that none is still open."""
    spans: list[Span] = []
    i = 0
    for count, calls in mix:
        for _ in range(count):
            spans += request(i, start_ms + 100.0 * i, calls)
            i += 1
    end = max(s.end_ns for s in spans)
    spans.append(Span("tail", "x", None, ServiceId("other"), "tick", end + MS, end + 2 * MS))
    return SpanTree(spans)


NORMAL = [(40, ("catalog", "currency", "ads")), (40, ("cart", "currency")), (5, ())]


def test_requests_that_now_call_no_one_blame_the_service_itself() -> None:
    after = period(1e7, [(20, ("catalog", "currency", "ads")), (20, ("cart", "currency")), (45, ())])

    (ending,) = handler_endings(after, period(0.0, NORMAL))

    assert ending.is_own and ending.caller == ending.blamed == "front"
    assert ending.before < 0.1 < 0.5 < ending.after
    assert ending.z > 4.0


def test_requests_that_now_stop_right_after_one_callee_blame_that_callee() -> None:
    after = period(1e7, [(60, ("catalog",)), (20, ("cart", "currency")), (5, ())])

    (ending,) = handler_endings(after, period(0.0, NORMAL))

    assert not ending.is_own
    assert (ending.caller, ending.blamed) == ("front", "catalog")
    assert ending.before == 0.0 and ending.after > 0.6


def test_the_same_mix_of_requests_and_fewer_requests_point_at_no_one() -> None:
    reference = period(0.0, NORMAL)
    assert handler_endings(period(1e7, NORMAL), reference) == ()
    half = [(count // 2, calls) for count, calls in NORMAL]
    assert handler_endings(period(1e7, half), reference) == ()


def test_too_few_requests_are_not_judged() -> None:
    after = period(1e7, [(3, ()), (2, ("cart",))])
    assert handler_endings(after, period(0.0, NORMAL)) == ()


def test_a_caller_cut_short_by_a_callee_has_its_broken_code_path_discounted() -> None:
    pair = BrokenPair(
        service=ServiceId("front"),
        first="span Recv",
        missing="try call currency",
        spans_with_first=80,
        spans_missing=60,
        expected_missing=2.0,
        strength=30.0,
        first_seen=0.0,
        trace_ids=frozenset(),
    )
    cut = HandlerEnding(ServiceId("front"), ServiceId("catalog"), 0.0, 0.7, 85, 85, 12.0)
    alone = ServiceFindings(ServiceId("front"), broken_pairs=[pair])
    cut_short = ServiceFindings(ServiceId("front"), broken_pairs=[pair], stops_after=cut)

    (plain,), _ = own_strength(alone)
    (discounted,), _ = own_strength(cut_short)

    assert discounted.weight == plain.weight * (1.0 - CUT_SHORT_DISCOUNT)
    assert discounted.inherited_from == "catalog" and "catalog" in discounted.reason
    callee = ServiceFindings(ServiceId("catalog"), handler_endings=[cut])
    (blamed,), _ = own_strength(callee)
    assert blamed.label == "trace:handlers:front" and blamed.weight > plain.weight
