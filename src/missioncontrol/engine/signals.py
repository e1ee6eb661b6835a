"""Classify metric names into signal families by common exporter naming conventions. Pure.

The engine reasons about families (is this CPU? latency seen by the server or by its client?),
never about one vendor's exact names, so a new exporter needs at most a new row here.
"""

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


# Ordered: the first row whose every fragment occurs in the lower-cased name wins.
_RULES: tuple[tuple[tuple[str, ...], Family], ...] = (
    (("node",), Family.NODE),
    (("network", "lat"), Family.NETWORK),
    (("network", "delay"), Family.NETWORK),
    (("networkp",), Family.NETWORK),
    (("rtt",), Family.NETWORK),
    (("packet",), Family.NETWORK),
    (("client", "lat"), Family.CLIENT_LATENCY),
    (("cpu",), Family.CPU),
    (("mem",), Family.MEMORY),
    (("heap",), Family.MEMORY),
    (("gc_",), Family.MEMORY),
    (("success",), Family.SUCCESS),
    (("error",), Family.ERRORS),
    (("exception",), Family.ERRORS),
    (("fail",), Family.ERRORS),
    (("5xx",), Family.ERRORS),
    (("lat",), Family.LATENCY),
    (("duration",), Family.LATENCY),
    (("response_time",), Family.LATENCY),
    (("syscall",), Family.IO),
    (("disk",), Family.IO),
    (("workload",), Family.TRAFFIC),
    (("ops",), Family.TRAFFIC),
    (("request",), Family.TRAFFIC),
    (("rps",), Family.TRAFFIC),
    (("qps",), Family.TRAFFIC),
    (("lod",), Family.TRAFFIC),
    (("load",), Family.TRAFFIC),
    (("throughput",), Family.TRAFFIC),
    (("bytes",), Family.TRAFFIC),
    (("receive",), Family.TRAFFIC),
    (("transmit",), Family.TRAFFIC),
)

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


def family_of(metric: str) -> Family:
    """Return the signal family of a metric name (`CpuUsageRate(%)` → CPU, `latency_p99` → LATENCY)."""
    name = metric.lower()
    for fragments, family in _RULES:
        if all(f in name for f in fragments):
            return family
    return Family.OTHER
