"""Traces of a simulated incident: requests enter at entry points and walk the call graph.

A span's duration is its own self time plus its calls, made one after another, each wrapped in the
network delay to the callee. So children always sit inside their parent, a CPU or latency fault grows
the culprit's self time, and a network fault grows the gap between a caller and the culprit's span.
"""

import math
import random
from dataclasses import dataclass, field

from missioncontrol.connectors.simulator.estate import Estate, ServiceKind
from missioncontrol.connectors.simulator.faults import Signature
from missioncontrol.connectors.simulator.timeline import Timeline, streams
from missioncontrol.domain import ServiceId, Span

TRACES_PER_MINUTE = 12
SPAN_BUDGET = 48  # spans per trace at most: a wide estate would otherwise fan out without end
ERROR_PASSED_UP = 0.7  # a failed call fails the caller's span unless a retry or fallback saved it
SELF_SHARE_WITH_CALLS = 0.5  # share of a calling service's healthy p50 spent in its own code

NS_PER_MS = 1_000_000


@dataclass(slots=True)
class _Call:
    service: ServiceId
    span_id: str
    children: list["_Call"] = field(default_factory=list)


def simulate_spans(
    estate: Estate, timeline: Timeline, seed: int, fault: tuple[ServiceId, Signature] | None
) -> tuple[Span, ...]:
    """Return a few traces per minute from the entry points, sorted by trace and start."""
    tracer = _Tracer(estate, timeline, seed, fault)
    entries = estate.entry_points
    weights = [estate.profiles[e].request_rate for e in entries]
    per_window = max(1, round(TRACES_PER_MINUTE * timeline.step_s / 60))
    rng = tracer.rng
    for i in range(timeline.n_samples):
        for _ in range(per_window):
            start_s = timeline.start_s + i * timeline.step_s + rng.uniform(0.0, timeline.step_s)
            root = rng.choices(entries, weights)[0]
            tracer.trace(root, int(start_s * 1e9))
    return tuple(sorted(tracer.spans, key=lambda s: (s.trace_id, s.start_ns, s.span_id)))


class _Tracer:
    def __init__(
        self, estate: Estate, timeline: Timeline, seed: int, fault: tuple[ServiceId, Signature] | None
    ) -> None:
        self.estate = estate
        self.timeline = timeline
        self.rng = streams(seed, "spans")
        self.culprit: ServiceId | None = fault[0] if fault is not None else None
        self.signature: Signature | None = fault[1] if fault is not None else None
        self.spans: list[Span] = []
        self._operations: dict[ServiceId, tuple[str, ...]] = {}

    def trace(self, root: ServiceId, start_ns: int) -> None:
        """Walk one request from `root` and record its spans."""
        tree = self._walk(root, [SPAN_BUDGET])
        self._place(tree, f"{self.rng.getrandbits(128):032x}", None, start_ns)

    def _walk(self, service: ServiceId, budget: list[int]) -> _Call:
        budget[0] -= 1
        call = _Call(service, f"{self.rng.getrandbits(64):016x}")
        for callee in self.estate.graph.callees(service):
            if budget[0] <= 0:
                break
            if self.rng.random() < self.estate.share(service, callee):
                call.children.append(self._walk(callee, budget))
        return call

    def _second(self, at_ns: int) -> int:
        """Return the incident second holding `at_ns`, clamped to the incident."""
        second = at_ns // 1_000_000_000 - self.timeline.start_s
        return min(max(second, 0), self.timeline.duration_s - 1)

    def _place(self, call: _Call, trace_id: str, parent: str | None, start_ns: int) -> tuple[int, bool]:
        """Record `call` starting at `start_ns`, its children inside it; return its end and failure."""
        rng, sig = self.rng, self.signature
        profile = self.estate.profiles[call.service]
        second = self._second(start_ns)
        is_culprit = sig is not None and call.service == self.culprit
        has_calls = bool(self.estate.graph.callees(call.service))
        self_ms = (
            profile.latency_ms * (SELF_SHARE_WITH_CALLS if has_calls else 1.0) * rng.lognormvariate(0, 0.35)
        )
        error_p = profile.error_rate
        if is_culprit and sig is not None:
            self_ms += float(sig.latency_ms[second]) * rng.lognormvariate(0, 0.25)
            error_p += float(sig.error[second])
        cursor = start_ns + int(self_ms * 0.3 * NS_PER_MS)
        child_failed = False
        for child in call.children:
            gap_ms = self.estate.profiles[child.service].network_ms / 2 * rng.lognormvariate(0, 0.3)
            lost = False
            if sig is not None and child.service == self.culprit:
                gap_ms += float(sig.network_ms[second]) / 2 * rng.lognormvariate(0, 0.2)
                lost = rng.random() < float(sig.timeout_error[second])
            gap_ns = int(gap_ms * NS_PER_MS)
            child_end, failed = self._place(child, trace_id, call.span_id, cursor + gap_ns)
            cursor = child_end + gap_ns
            child_failed = child_failed or failed or lost
        end_ns = cursor + max(1, int(self_ms * 0.7 * NS_PER_MS))
        is_error = rng.random() < error_p or (child_failed and rng.random() < ERROR_PASSED_UP)
        operation = rng.choice(self._operations_of(call.service))
        self.spans.append(
            Span(trace_id, call.span_id, parent, call.service, operation, start_ns, end_ns, is_error)
        )
        return end_ns, is_error

    def _operations_of(self, service: ServiceId) -> tuple[str, ...]:
        if service not in self._operations:
            self._operations[service] = operations(self.estate, service)
        return self._operations[service]


def operations(estate: Estate, service: ServiceId) -> tuple[str, ...]:
    """Return the span operation names a service uses, the same in every incident of its estate."""
    profile = estate.profiles[service]
    domain = profile.domain
    table = domain.replace("-", "_")
    habits = random.Random(f"missioncontrol-sim/{estate.seed}/operations/{service}")
    if profile.kind is ServiceKind.DB:
        return (f"SELECT {table}", f"UPDATE {table}")
    if profile.kind is ServiceKind.CACHE:
        return (f"GET {domain}:*", f"SET {domain}:*")
    if profile.kind is ServiceKind.QUEUE:
        return (f"publish {domain}.events",)
    paths = ("", "/{id}", "/search", "/{id}/items")
    chosen = habits.sample(paths, k=1 + math.floor(habits.random() * 2))
    return tuple(f"{habits.choice(('GET', 'POST'))} /api/v1/{domain}{p}" for p in chosen)
