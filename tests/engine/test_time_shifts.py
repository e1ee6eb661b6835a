"""Self time against a baseline run, checked against the minutes just before the onset."""

from missioncontrol.domain import ServiceId, Span
from missioncontrol.engine.diagnose import _time_shifts
from missioncontrol.engine.traces import SpanTree

MS = 1_000_000


def slow_requests(start_ms: float, n: int, own_ms: float) -> list[Span]:
    """`n` requests to `front`, each with its own time of `own_ms` and nothing called."""
    return [
        Span(
            f"t{start_ms:.0f}-{i}",
            "h",
            None,
            ServiceId("front"),
            "Recv",
            int((start_ms + 100 * i) * MS),
            int((start_ms + 100 * i + own_ms) * MS),
        )
        for i in range(n)
    ]


def test_a_service_already_slow_before_the_onset_did_not_slow_down_with_the_fault() -> None:
    baseline = SpanTree(slow_requests(0.0, 40, own_ms=2.0))  # a healthy run on another day
    after = SpanTree(slow_requests(2e6, 40, own_ms=6.0))
    already_slow = slow_requests(1e6, 40, own_ms=6.0)
    slowed_now = slow_requests(1e6, 40, own_ms=2.0)

    own, _ = _time_shifts(after, baseline, already_slow)
    assert own == {}
    own, _ = _time_shifts(after, baseline, slowed_now)
    assert list(own) == ["front"] and own[ServiceId("front")].ratio > 2.0
    own, _ = _time_shifts(after, baseline, None)  # no separate baseline: nothing to check against
    assert list(own) == ["front"]
