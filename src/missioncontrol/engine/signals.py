"""Classify metric names into signal families by common exporter naming conventions. Pure.

The engine reasons about families (is this CPU? latency seen by the server or by its client?),
never about one vendor's exact names, so a new exporter needs at most a new row here.
"""

import functools
import re
from enum import StrEnum

from missioncontrol.domain import FaultKind


class Family(StrEnum):
    CPU = "cpu"
    MEMORY = "memory"
    LATENCY = "latency"  # time to serve a request: can be the service's own or inherited
    CLIENT_LATENCY = "client_latency"  # time the service waited on its callees: inherited by nature
    NETWORK = "network"  # network delay or loss
    ERRORS = "errors"  # up is bad
    SUCCESS = "success"  # down is bad
    TRAFFIC = "traffic"  # request or byte rates: mostly an effect, weak evidence either way
    IO = "io"
    NODE = "node"  # the host's figures: shared by everything co-located
    OTHER = "other"


# Ordered: the first row wins whose every group has a token of the name starting with one of its
# prefixes. Names are split into words at punctuation and camelCase (`PodClientLatencyP90(s)` →
# pod, client, latency, p90, s), so `translation` never reads as `lat`.
_RULES: tuple[tuple[tuple[tuple[str, ...], ...], Family], ...] = (
    ((("node",),), Family.NODE),
    ((("network", "net"), ("lat", "delay", "p90", "p95", "p99", "rtt")), Family.NETWORK),
    ((("networkp",),), Family.NETWORK),
    ((("rtt",),), Family.NETWORK),
    ((("packet",),), Family.NETWORK),
    ((("client",), ("lat", "duration", "time")), Family.CLIENT_LATENCY),
    ((("cpu",),), Family.CPU),
    ((("mem",),), Family.MEMORY),
    ((("heap",),), Family.MEMORY),
    ((("gc",),), Family.MEMORY),
    ((("oom",),), Family.MEMORY),
    ((("success",),), Family.SUCCESS),
    ((("error", "errors"),), Family.ERRORS),
    ((("exception",),), Family.ERRORS),
    ((("fail",),), Family.ERRORS),
    ((("5xx",),), Family.ERRORS),
    ((("lat", "latency"),), Family.LATENCY),
    ((("duration",),), Family.LATENCY),
    ((("response",), ("time",)), Family.LATENCY),
    ((("syscall",),), Family.IO),
    ((("disk",),), Family.IO),
    ((("io",),), Family.IO),
    ((("workload",),), Family.TRAFFIC),
    ((("ops",),), Family.TRAFFIC),
    ((("request", "requests"),), Family.TRAFFIC),
    ((("rps", "qps"),), Family.TRAFFIC),
    ((("lod", "load"),), Family.TRAFFIC),
    ((("throughput",),), Family.TRAFFIC),
    ((("bytes",),), Family.TRAFFIC),
    ((("receive", "transmit"),), Family.TRAFFIC),
)
# Exact-token rules: these words are prefixes of too many others (`node` of `nodejs`, `io` of `iowait`
# is fine but `io` of `ion` is not), so they must stand alone.
_EXACT = frozenset({"node", "io", "gc", "net"})

_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+[a-z]*|[a-z]+\d+", re.ASCII)


def tokens_of(metric: str) -> tuple[str, ...]:
    """Split a metric name into lower-case words: `PodClientLatencyP90(s)` → pod, client, latency, p90, s."""
    words: list[str] = []
    for part in re.split(r"[^A-Za-z0-9]+", metric):
        words.extend(w.lower() for w in _WORDS.findall(part))
    # Glue a letter and the digits after it (`p` `90` → `p90`) as exporters write percentiles.
    glued: list[str] = []
    for w in words:
        if glued and glued[-1] in ("p",) and w.isdigit():
            glued[-1] += w
        else:
            glued.append(w)
    return tuple(glued)


def _matches(token: str, prefix: str) -> bool:
    return token == prefix if prefix in _EXACT else token.startswith(prefix)


# Which way is bad: +1 up, −1 down, 0 both.
DIRECTION: dict[Family, int] = {
    Family.CPU: 1,
    Family.MEMORY: 1,
    Family.LATENCY: 1,
    Family.CLIENT_LATENCY: 1,
    Family.NETWORK: 1,
    Family.ERRORS: 1,
    Family.SUCCESS: -1,
    Family.TRAFFIC: 0,
    Family.IO: 0,
    Family.NODE: 1,
    Family.OTHER: 0,
}

FAULT_OF: dict[Family, FaultKind] = {
    Family.CPU: FaultKind.CPU,
    Family.MEMORY: FaultKind.MEMORY,
    Family.LATENCY: FaultKind.LATENCY,
    Family.CLIENT_LATENCY: FaultKind.DEPENDENCY,
    Family.NETWORK: FaultKind.NETWORK,
    Family.ERRORS: FaultKind.ERRORS,
    Family.SUCCESS: FaultKind.ERRORS,
    Family.TRAFFIC: FaultKind.UNKNOWN,
    Family.IO: FaultKind.UNKNOWN,
    Family.NODE: FaultKind.CPU,
    Family.OTHER: FaultKind.UNKNOWN,
}


@functools.lru_cache(maxsize=65_536)  # an estate has few metric names and many series of each
def family_of(metric: str) -> Family:
    """Return the signal family of a metric name (`CpuUsageRate(%)` → CPU, `latency_p99` → LATENCY)."""
    words = tokens_of(metric)
    for groups, family in _RULES:
        if all(any(_matches(w, p) for w in words for p in group) for group in groups):
            return family
    return Family.OTHER
