"""Spread a culprit's trouble up the call graph: how much each caller inherits, and how late.

Each hop attenuates (only a share of a caller's requests reach the callee, and retries or fallbacks
hide some failures) and adds a few seconds of delay, so cause always precedes effect: a caller's
effect starts at least one hop-delay after that of the callee it inherits from.
"""

import random
from collections import deque
from dataclasses import dataclass

from missioncontrol.connectors.simulator.estate import Estate
from missioncontrol.domain import ServiceId

MIN_HOP_DELAY_S = 2
MAX_HOP_DELAY_S = 12
LATENCY_KEPT_PER_HOP = 0.9  # part of a callee's extra latency that lands on the caller's p90


@dataclass(frozen=True, slots=True)
class Impact:
    """What each affected caller inherits, relative to what the culprit exports (1.0 = all of it)."""

    latency_share: dict[ServiceId, float]
    error_share: dict[ServiceId, float]
    delay_s: dict[ServiceId, int]  # when its effect starts, in seconds after the culprit's
    via: dict[ServiceId, tuple[ServiceId, ...]]  # the affected callees it inherits through

    @property
    def services(self) -> tuple[ServiceId, ...]:
        """Return the affected callers, sorted."""
        return tuple(sorted(self.delay_s))


def propagate(estate: Estate, culprit: ServiceId, rng: random.Random) -> Impact:
    """Return how the culprit's exported latency and errors reach every service upstream of it."""
    graph = estate.graph
    upstream = graph.upstream(culprit, max_hops=len(estate.profiles))
    latency = {culprit: 1.0}
    errors = {culprit: 1.0}
    delay = {culprit: 0}
    via: dict[ServiceId, tuple[ServiceId, ...]] = {}
    for service in _callers_after_callees(estate, culprit, upstream):
        hit = tuple(c for c in graph.callees(service) if c in delay)
        # Retries and fallbacks: a caller hides 10–35 % of the failures it sees.
        masked = rng.uniform(0.1, 0.35)
        lat = err = 0.0
        start = None
        for callee in hit:
            share = estate.share(service, callee)
            lat += share * LATENCY_KEPT_PER_HOP * latency[callee]
            err += share * (1.0 - masked) * errors[callee]
            at = delay[callee] + rng.randint(MIN_HOP_DELAY_S, MAX_HOP_DELAY_S)
            start = at if start is None else min(start, at)
        # Several affected callees add up, but a caller never inherits more than the culprit exports.
        latency[service] = min(1.0, lat)
        errors[service] = min(1.0, err)
        delay[service] = start if start is not None else 0
        via[service] = hit
    for table in (latency, errors, delay):
        del table[culprit]
    return Impact(latency_share=latency, error_share=errors, delay_s=delay, via=via)


def _callers_after_callees(
    estate: Estate, culprit: ServiceId, upstream: dict[ServiceId, int]
) -> list[ServiceId]:
    """Return the culprit's upstream services ordered so that every callee precedes its callers."""
    graph = estate.graph
    # Kahn's algorithm on the upstream subgraph, walking from callee to caller.
    pending = {s: sum(1 for c in graph.callees(s) if c in upstream) for s in upstream}
    ready = deque([culprit])
    order: list[ServiceId] = []
    while ready:
        node = ready.popleft()
        for caller in graph.callers(node):
            if caller not in pending:
                continue
            pending[caller] -= 1
            if pending[caller] == 0:
                order.append(caller)
                ready.append(caller)
    return order
