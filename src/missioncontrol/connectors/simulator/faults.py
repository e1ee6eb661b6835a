"""Fault signatures: what each fault kind does to the culprit's own signals, second by second.

A signature holds additive effects on the culprit (zero before onset). What its callers inherit is
`exported_latency_ms` and `exported_error`: the latency and failures they see when calling it.
"""

from dataclasses import dataclass

import numpy as np

from missioncontrol.connectors.simulator.estate import Estate, ServiceKind, ServiceProfile
from missioncontrol.connectors.simulator.timeline import Floats, Timeline
from missioncontrol.domain import FaultKind, ServiceId

SUPPORTED_FAULTS = (
    FaultKind.CPU,
    FaultKind.MEMORY,
    FaultKind.LATENCY,
    FaultKind.ERRORS,
    FaultKind.WRONG_OUTPUT,
    FaultKind.NETWORK,
    FaultKind.BAD_CHANGE,
)

# Faults whose symptoms only exist in the eyes of a caller: the culprit must have one.
NEEDS_CALLERS = frozenset({FaultKind.WRONG_OUTPUT, FaultKind.NETWORK})

CPU_CEILING = 0.985
MEMORY_CEILING = 0.97


@dataclass(frozen=True, slots=True, eq=False)
class Signature:
    """A fault's effect on the culprit, per second of the incident. Every array is 0 before onset."""

    kind: FaultKind
    cpu: Floats  # added to cpu_usage_rate (fraction of the limit)
    memory: Floats  # added to memory_usage_rate
    latency_ms: Floats  # added to its own latency (self time), which its callers inherit
    error: Floats  # added to its own error_rate, which its callers inherit
    network_ms: Floats  # added to network_latency_p90 towards it; only callers feel it
    timeout_error: Floats  # failures only callers see (requests lost on the way)
    request_factor: Floats  # multiplies its request_rate (callers' retries)
    wrong: Floats  # fraction of its answers that are wrong while looking fine
    intensity: Floats  # 0..1, how strongly its own fault log templates fire
    restarts_s: tuple[int, ...] = ()  # seconds since the incident start at which it restarted

    @property
    def exported_latency_ms(self) -> Floats:
        """Return the extra latency a caller sees on calls to the culprit."""
        result: Floats = self.latency_ms + self.network_ms
        return result

    @property
    def exported_error(self) -> Floats:
        """Return the extra failure fraction a caller sees on calls to the culprit."""
        result: Floats = np.clip(self.error + self.timeout_error, 0.0, 1.0)
        return result


def check_culprit(estate: Estate, fault: FaultKind, culprit: ServiceId) -> None:
    """Raise ValueError if `fault` cannot be simulated on `culprit`."""
    if fault not in SUPPORTED_FAULTS:
        supported = ", ".join(f.value for f in SUPPORTED_FAULTS)
        raise ValueError(f"the simulator cannot inject fault {fault.value!r}; it supports {supported}")
    if culprit not in estate.profiles:
        raise ValueError(f"culprit {culprit!r} is not a service of this estate")
    if fault in NEEDS_CALLERS and not estate.graph.callers(culprit):
        raise ValueError(
            f"fault {fault.value!r} shows only in its callers, but {culprit!r} has none: it is an entry point"
        )


def eligible_culprits(estate: Estate, fault: FaultKind) -> tuple[ServiceId, ...]:
    """Return the services on which `fault` makes a realistic story, sorted."""
    services = estate.services
    if fault in NEEDS_CALLERS:
        services = tuple(s for s in services if estate.graph.callers(s))
    if fault in (FaultKind.WRONG_OUTPUT, FaultKind.BAD_CHANGE):
        # Code answers wrongly and code gets deployed; a database does neither in these stories.
        services = tuple(s for s in services if estate.profiles[s].kind is ServiceKind.API)
    return services


def build_signature(
    fault: FaultKind, profile: ServiceProfile, timeline: Timeline, rng: np.random.Generator
) -> Signature:
    """Return the signature of `fault` on a culprit with `profile`, its parameters drawn from `rng`."""
    tau = timeline.since_onset()
    zero = np.zeros_like(tau)
    parts: dict[str, Floats] = {}
    restarts: tuple[int, ...] = ()
    own_p90 = profile.latency_ms * profile.p90_ratio
    if fault is FaultKind.CPU:
        level = _ramp(tau, rng.uniform(20, 60))
        parts["cpu"] = (CPU_CEILING - profile.cpu) * level
        # A saturated CPU queues requests: self time grows far beyond the healthy figure.
        parts["latency_ms"] = (rng.uniform(150, 600) + own_p90 * rng.uniform(2, 5)) * level
        parts["error"] = rng.uniform(0.002, 0.01) * level  # a few time out
        parts["intensity"] = level
    elif fault is FaultKind.MEMORY:
        parts, restarts = _memory_leak(profile, tau, timeline, rng)
    elif fault is FaultKind.LATENCY:
        level = _ramp(tau, rng.uniform(15, 45))
        parts["latency_ms"] = (rng.uniform(300, 1200) + own_p90 * 3) * level
        parts["intensity"] = level
    elif fault is FaultKind.ERRORS:
        level = _ramp(tau, rng.uniform(10, 40))
        parts["error"] = rng.uniform(0.15, 0.45) * level
        parts["request_factor"] = 1.0 + rng.uniform(0.1, 0.25) * level  # callers retry
        parts["intensity"] = level
    elif fault is FaultKind.WRONG_OUTPUT:
        level = _ramp(tau, rng.uniform(10, 30))
        parts["wrong"] = rng.uniform(0.12, 0.35) * level
        parts["intensity"] = level
    elif fault is FaultKind.NETWORK:
        level = _ramp(tau, rng.uniform(10, 30))
        parts["network_ms"] = rng.uniform(150, 500) * level
        parts["timeout_error"] = rng.uniform(0.01, 0.04) * level
        parts["intensity"] = level
    elif fault is FaultKind.BAD_CHANGE:
        parts = _bad_deploy(profile, tau, rng)
    else:
        raise ValueError(f"the simulator cannot inject fault {fault.value!r}")
    factor = parts.get("request_factor")
    return Signature(
        kind=fault,
        cpu=parts.get("cpu", zero),
        memory=parts.get("memory", zero),
        latency_ms=parts.get("latency_ms", zero),
        error=parts.get("error", zero),
        network_ms=parts.get("network_ms", zero),
        timeout_error=parts.get("timeout_error", zero),
        request_factor=factor if factor is not None else np.ones_like(tau),
        wrong=parts.get("wrong", zero),
        intensity=parts.get("intensity", zero),
        restarts_s=restarts,
    )


def _ramp(tau: Floats, rise_s: float) -> Floats:
    """Return 0 before onset, rising linearly to 1 over `rise_s` seconds."""
    result: Floats = np.clip(tau / rise_s, 0.0, 1.0)
    return result


def _memory_leak(
    profile: ServiceProfile, tau: Floats, timeline: Timeline, rng: np.random.Generator
) -> tuple[dict[str, Floats], tuple[int, ...]]:
    """Return a leak climbing to the limit, GC pauses as it nears it, and maybe an OOM restart."""
    leak_s = rng.uniform(75, 150)
    headroom = MEMORY_CEILING - profile.memory
    used = headroom * _ramp(tau, leak_s)
    restarts: tuple[int, ...] = ()
    error = np.zeros_like(tau)
    restart_after = leak_s + rng.uniform(20, 50)
    if rng.random() < 0.6 and restart_after < tau[-1]:
        # The container is OOM-killed: memory falls below its healthy level, then leaks again.
        drop = 0.2 * profile.memory
        after = tau >= restart_after
        used = np.where(after, -drop + (headroom + drop) * _ramp(tau - restart_after, leak_s), used)
        outage = after & (tau < restart_after + rng.uniform(15, 30))
        error = np.where(outage, rng.uniform(0.2, 0.5), 0.0)
        restarts = (int(timeline.onset_offset_s + restart_after),)
    pressure = np.clip(used / headroom, 0.0, 1.0)
    gc = np.clip((pressure - 0.3) / 0.7, 0.0, 1.0) ** 1.5
    parts = {
        "memory": used,
        "latency_ms": rng.uniform(300, 900) * gc,
        "cpu": 0.15 * gc,  # the collector burns CPU too
        "error": error,
        "intensity": gc,
    }
    return parts, restarts


def _bad_deploy(profile: ServiceProfile, tau: Floats, rng: np.random.Generator) -> dict[str, Floats]:
    """Return a rollout at onset: pods restart, then the new version fails a share of requests."""
    rollout = _ramp(tau, rng.uniform(30, 90))
    since = np.clip(tau, 0.0, None)
    fresh = np.where(tau >= 0, np.exp(-since / 60.0), 0.0)  # restarted pods warm up for a minute
    return {
        "error": rng.uniform(0.1, 0.4) * rollout,
        "latency_ms": rng.uniform(20, 80) * rollout,
        "cpu": 0.2 * fresh,
        "memory": -0.25 * profile.memory * np.where(tau >= 0, 1.0 - _ramp(tau, 300), 0.0),
        "request_factor": 1.0 + 0.1 * rollout,
        "intensity": rollout,
    }
