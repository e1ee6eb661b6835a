"""How a service's request handlers end: where a cut-short request stops tells whose fault it is. Pure.

Every entry span of a service (its handler of one request) makes some calls to other services and
then returns. Two changes in how handlers end are signs of a fault even when no span is marked as
an error and no log line is written:

- **Handlers that call no one.** A share of requests that used to make calls now returns before
  making any: an early return or an exception in the service's own code (its answer is empty, the
  request still "succeeds" quickly).
- **Handlers that stop right after one callee.** A caller whose requests now end just after they
  call C (C is suddenly the last service called) stops because of what C answered: C's errors or
  wrong answers cut the caller's work short. The caller's missing later calls are C's doing, not a
  changed code path of the caller.

Each is a share of handlers against the same share in the reference period, with a two-proportion
z-score, so that a busy service's small wobble in its mix of requests is not a fault.
"""

import math
from collections import Counter
from dataclasses import dataclass

from missioncontrol.domain import ServiceId, Span
from missioncontrol.engine.traces import SpanTree


@dataclass(frozen=True, slots=True)
class HandlerEnding:
    """A change in how one service's handlers end, and the service it points at."""

    caller: ServiceId  # the service whose handlers changed
    blamed: ServiceId  # the caller itself (handlers that call no one), or the callee they stop after
    before: float  # share of handlers ending this way in the reference period
    after: float  # ... and after the onset
    n_before: int  # handlers seen in each period
    n_after: int
    z: float  # two-proportion z-score of the rise

    @property
    def is_own(self) -> bool:
        """Return True for handlers that call no one: the caller's own code path changed."""
        return self.blamed == self.caller


@dataclass(frozen=True, slots=True)
class _Endings:
    handlers: int
    empty: int
    last_callee: Counter[ServiceId]


def _endings(tree: SpanTree) -> dict[ServiceId, _Endings]:
    known = tree.derived.get("handler_endings")
    if isinstance(known, dict):
        return known
    found = _count_endings(tree)
    tree.derived["handler_endings"] = found
    return found


def _count_endings(tree: SpanTree) -> dict[ServiceId, _Endings]:
    spans = tree.spans
    if not spans:
        return {}
    by_id, kids = tree.by_id, tree.children
    # A handler still open when the data ends may not have made its calls yet.
    last_start = max(s.start_ns for s in spans)
    handlers: Counter[ServiceId] = Counter()
    empty: Counter[ServiceId] = Counter()
    last: dict[ServiceId, Counter[ServiceId]] = {}
    for entry in spans:
        if entry.end_ns > last_start:
            continue
        parent = by_id.get((entry.trace_id, entry.parent_span_id or ""))
        if parent is not None and parent.service == entry.service:
            continue  # not an entry: a span inside its service's handler
        latest: Span | None = None
        stack = [entry]
        while stack:
            here = stack.pop()
            for k in kids.get((here.trace_id, here.span_id), ()):
                if k.service == entry.service:
                    stack.append(k)
                elif latest is None or (k.start_ns, k.service) > (latest.start_ns, latest.service):
                    latest = k
        handlers[entry.service] += 1
        if latest is None:
            empty[entry.service] += 1
        else:
            last.setdefault(entry.service, Counter())[latest.service] += 1
    return {s: _Endings(n, empty[s], last.get(s, Counter())) for s, n in handlers.items()}


def _rise_z(k0: int, n0: int, k1: int, n1: int) -> float:
    """Return the two-proportion z-score of k1/n1 over k0/n0 (0 when there is no spread to judge)."""
    pooled = (k0 + k1) / (n0 + n1)
    spread = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n0 + 1.0 / n1))
    return (k1 / n1 - k0 / n0) / spread if spread > 0.0 else 0.0


def handler_endings(
    after: SpanTree,
    reference: SpanTree,
    *,
    min_handlers: int = 30,
    min_rise: float = 0.15,
    min_z: float = 4.0,
) -> tuple[HandlerEnding, ...]:
    """Return the services whose handlers now end differently: empty, or right after one callee.

    A service needs `min_handlers` handlers in each period; a share must rise by `min_rise` with a
    z-score of at least `min_z`. Per caller, only the strongest callee it now stops after counts.
    Only services that make calls at all in the reference period are judged: a leaf's handlers
    are always empty.
    """
    now, before = _endings(after), _endings(reference)
    found: list[HandlerEnding] = []
    for service in sorted(now.keys() & before.keys()):
        a, b = now[service], before[service]
        if a.handlers < min_handlers or b.handlers < min_handlers or b.empty == b.handlers:
            continue
        rise = a.empty / a.handlers - b.empty / b.handlers
        z = _rise_z(b.empty, b.handlers, a.empty, a.handlers)
        if rise >= min_rise and z >= min_z:
            found.append(
                HandlerEnding(
                    service, service, b.empty / b.handlers, a.empty / a.handlers, b.handlers, a.handlers, z
                )
            )
        best: HandlerEnding | None = None
        for callee in sorted(a.last_callee):
            k1, k0 = a.last_callee[callee], b.last_callee.get(callee, 0)
            rise = k1 / a.handlers - k0 / b.handlers
            z = _rise_z(k0, b.handlers, k1, a.handlers)
            if rise >= min_rise and z >= min_z and (best is None or z > best.z):
                best = HandlerEnding(
                    service, callee, k0 / b.handlers, k1 / a.handlers, b.handlers, a.handlers, z
                )
        if best is not None:
            found.append(best)
    return tuple(found)
