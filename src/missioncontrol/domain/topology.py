"""The service graph: who calls whom."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from missioncontrol.domain.ids import ServiceId


@dataclass(frozen=True, slots=True)
class ServiceGraph:
    """A directed call graph; an edge (a, b) means a calls b, so b's failure can reach a."""

    edges: frozenset[tuple[ServiceId, ServiceId]]
    extra_services: frozenset[ServiceId] = frozenset()
    _callees: dict[ServiceId, tuple[ServiceId, ...]] = field(init=False, repr=False, compare=False)
    _callers: dict[ServiceId, tuple[ServiceId, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        callees: dict[ServiceId, list[ServiceId]] = {}
        callers: dict[ServiceId, list[ServiceId]] = {}
        for a, b in sorted(self.edges):
            if a == b:
                continue
            callees.setdefault(a, []).append(b)
            callers.setdefault(b, []).append(a)
        # Frozen dataclass: caches are set once here, never mutated afterwards.
        object.__setattr__(self, "_callees", {k: tuple(v) for k, v in callees.items()})
        object.__setattr__(self, "_callers", {k: tuple(v) for k, v in callers.items()})

    @classmethod
    def from_edges(cls, edges: Iterable[tuple[str, str]], *, services: Iterable[str] = ()) -> "ServiceGraph":
        return cls(
            edges=frozenset((ServiceId(a), ServiceId(b)) for a, b in edges),
            extra_services=frozenset(ServiceId(s) for s in services),
        )

    @property
    def services(self) -> frozenset[ServiceId]:
        nodes = set(self.extra_services)
        for a, b in self.edges:
            nodes.add(a)
            nodes.add(b)
        return frozenset(nodes)

    def callees(self, service: ServiceId) -> tuple[ServiceId, ...]:
        """Return the services `service` calls directly, sorted."""
        return self._callees.get(service, ())

    def callers(self, service: ServiceId) -> tuple[ServiceId, ...]:
        """Return the services that call `service` directly, sorted."""
        return self._callers.get(service, ())

    def downstream(self, service: ServiceId, *, max_hops: int) -> dict[ServiceId, int]:
        """Return every service reachable by following calls from `service`, with its hop count."""
        return self._walk(service, self.callees, max_hops)

    def upstream(self, service: ServiceId, *, max_hops: int) -> dict[ServiceId, int]:
        """Return every service whose calls reach `service`, with its hop count (the blast radius)."""
        return self._walk(service, self.callers, max_hops)

    def path(self, source: ServiceId, target: ServiceId) -> tuple[ServiceId, ...] | None:
        """Return a shortest call path from `source` down to `target`, or None if there is none."""
        if source == target:
            return (source,)
        previous: dict[ServiceId, ServiceId] = {}
        frontier = [source]
        seen = {source}
        while frontier:
            nxt: list[ServiceId] = []
            for node in frontier:
                for callee in self.callees(node):
                    if callee in seen:
                        continue
                    seen.add(callee)
                    previous[callee] = node
                    if callee == target:
                        hops = [target]
                        while hops[-1] != source:
                            hops.append(previous[hops[-1]])
                        return tuple(reversed(hops))
                    nxt.append(callee)
            frontier = nxt
        return None

    @staticmethod
    def _walk(
        start: ServiceId,
        neighbours: Callable[[ServiceId], tuple[ServiceId, ...]],
        max_hops: int,
    ) -> dict[ServiceId, int]:
        hops = {start: 0}
        frontier = [start]
        for depth in range(1, max_hops + 1):
            nxt: list[ServiceId] = []
            for node in frontier:
                for other in neighbours(node):
                    if other not in hops:
                        hops[other] = depth
                        nxt.append(other)
            frontier = nxt
        return hops
