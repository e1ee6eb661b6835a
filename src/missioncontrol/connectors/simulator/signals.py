"""Metric series of a simulated incident: noisy healthy baselines, benign spikes, then the fault.

Units: `cpu_usage_rate`, `memory_usage_rate`, `error_rate` and `success_rate` are fractions (0..1);
`latency_*` and `network_latency_p90` are milliseconds; `request_rate` is requests per second.
All services are computed at once as (services × samples) arrays, so 5,000 services cost little.
"""

from dataclasses import dataclass

import numpy as np

from missioncontrol.connectors.simulator.estate import Estate
from missioncontrol.connectors.simulator.faults import Signature
from missioncontrol.connectors.simulator.propagation import Impact
from missioncontrol.connectors.simulator.timeline import Floats, Timeline
from missioncontrol.domain import MetricSeries, ServiceId

CPU = "cpu_usage_rate"
MEMORY = "memory_usage_rate"
P50 = "latency_p50"
P90 = "latency_p90"
P99 = "latency_p99"
ERRORS = "error_rate"
REQUESTS = "request_rate"
NETWORK = "network_latency_p90"
SUCCESS = "success_rate"
METRICS = (CPU, MEMORY, P50, P90, P99, ERRORS, REQUESTS, NETWORK)

# Extra latency lands harder on the tail than on the median.
PERCENTILE_WEIGHT = {P50: 0.7, P90: 1.0, P99: 1.4}

SPIKES_PER_SERVICE_HOUR = 0.5


@dataclass(frozen=True, slots=True, eq=False)
class Signals:
    """Every metric of every service as a (services × samples) array, rows in `services` order."""

    services: tuple[ServiceId, ...]
    values: dict[str, Floats]
    rows: dict[ServiceId, int]

    def row(self, service: ServiceId) -> int:
        """Return the row of `service`."""
        return self.rows[service]

    def series(self, metric: str, service: ServiceId) -> Floats:
        """Return one metric of one service."""
        row: Floats = self.values[metric][self.row(service)]
        return row


@dataclass(frozen=True, slots=True)
class Spike:
    """A benign, short-lived blip: a GC pause, a burst of traffic, a noisy neighbour."""

    service: ServiceId
    what: str  # "latency", "cpu", "errors" or "traffic"
    index: int
    length: int
    size: float


def healthy(estate: Estate, timeline: Timeline, rng: np.random.Generator) -> Signals:
    """Return every service's healthy metrics: daily load curve, slow drift and noise."""
    services = estate.services
    n, t = len(services), timeline.n_samples
    p = [estate.profiles[s] for s in services]

    def column(attr: str) -> Floats:
        return np.array([getattr(x, attr) for x in p], dtype=np.float64)[:, None]

    noisy = rng.uniform(0.6, 1.8, (n, 1))  # some services are just noisier than others
    hours = (timeline.start_s + (np.arange(t) + 0.5) * timeline.step_s) / 3600.0 % 24.0
    phase = rng.normal(0.0, 1.0, (n, 1))
    swing = rng.uniform(0.15, 0.35, (n, 1))
    # Traffic peaks mid-afternoon; 30 minutes see a slice of that curve as a gentle trend.
    daily = 1.0 + swing * np.sin(2 * np.pi * (hours[None, :] - 9.0 - phase) / 24.0)
    load = daily * np.exp(_ar1(rng, n, t, 0.8, 0.04 * noisy))
    requests = column("request_rate") * load
    cpu = column("cpu") * (0.55 + 0.45 * load) + _ar1(rng, n, t, 0.5, 0.012 * noisy)
    memory = (
        column("memory")
        + np.cumsum(rng.normal(0.0, 0.002, (n, t)), axis=1)
        + rng.normal(0.0, 0.003 * noisy, (n, t))
    )
    p50 = column("latency_ms") * (1.0 + 0.15 * (load - 1.0)) * np.exp(_ar1(rng, n, t, 0.6, 0.05 * noisy))
    p90 = p50 * column("p90_ratio") * np.exp(rng.normal(0.0, 0.06 * noisy, (n, t)))
    p99 = p90 * column("p99_ratio") * np.exp(rng.normal(0.0, 0.12 * noisy, (n, t)))
    errors = column("error_rate") * np.exp(rng.normal(0.0, 0.35, (n, t)))
    network = column("network_ms") * np.exp(_ar1(rng, n, t, 0.5, 0.08 * noisy))
    values = {CPU: cpu, MEMORY: memory, P50: p50, P90: p90, P99: p99, ERRORS: errors}
    values |= {REQUESTS: requests, NETWORK: network}
    return Signals(services, values, {s: i for i, s in enumerate(services)})


def benign_spikes(estate: Estate, timeline: Timeline, rng: np.random.Generator) -> list[Spike]:
    """Return a few random blips across the estate, so that not every bump is the incident."""
    services = estate.services
    hours = timeline.duration_s / 3600.0
    count = int(rng.poisson(SPIKES_PER_SERVICE_HOUR * len(services) * hours))
    kinds = ("latency", "cpu", "errors", "traffic")
    spikes = []
    for _ in range(count):
        what = str(rng.choice(kinds, p=(0.4, 0.25, 0.2, 0.15)))
        size = {
            "latency": rng.uniform(1.8, 3.0),
            "cpu": rng.uniform(0.15, 0.35),
            "errors": rng.uniform(0.01, 0.04),
            "traffic": rng.uniform(1.4, 2.0),
        }[what]
        spikes.append(
            Spike(
                service=services[int(rng.integers(len(services)))],
                what=what,
                index=int(rng.integers(timeline.n_samples)),
                length=1 if rng.random() < 0.7 else 2,
                size=float(size),
            )
        )
    return spikes


def add_spikes(signals: Signals, spikes: list[Spike]) -> None:
    """Add benign spikes in place."""
    v = signals.values
    for spike in spikes:
        r = signals.row(spike.service)
        w = slice(spike.index, spike.index + spike.length)
        if spike.what == "latency":
            v[P50][r, w] *= 1.0 + (spike.size - 1.0) * 0.4
            v[P90][r, w] *= spike.size
            v[P99][r, w] *= spike.size * 1.2
        elif spike.what == "cpu":
            v[CPU][r, w] += spike.size
        elif spike.what == "errors":
            v[ERRORS][r, w] += spike.size
        else:
            v[REQUESTS][r, w] *= spike.size
            v[CPU][r, w] += 0.15 * (spike.size - 1.0)


def add_fault(
    signals: Signals, timeline: Timeline, culprit: ServiceId, signature: Signature, impact: Impact
) -> None:
    """Add the fault in place: the culprit's own signature, then what each caller inherits."""
    v = signals.values
    r = signals.row(culprit)
    own_latency = timeline.window_means(signature.latency_ms)
    v[CPU][r] += timeline.window_means(signature.cpu)
    v[MEMORY][r] += timeline.window_means(signature.memory)
    for metric, weight in PERCENTILE_WEIGHT.items():
        v[metric][r] += weight * own_latency
    v[ERRORS][r] += timeline.window_means(signature.error)
    v[NETWORK][r] += timeline.window_means(signature.network_ms)
    v[REQUESTS][r] *= timeline.window_means(signature.request_factor)
    callers, latency, errors = inherited(timeline, signature, impact)
    if not callers:
        return
    rows = np.array([signals.row(s) for s in callers])
    for metric, weight in PERCENTILE_WEIGHT.items():
        v[metric][rows] += weight * latency
    v[ERRORS][rows] += errors


def inherited(
    timeline: Timeline, signature: Signature, impact: Impact
) -> tuple[tuple[ServiceId, ...], Floats, Floats]:
    """Return the affected callers with their added p90 latency (ms) and error rate, per sample."""
    callers = impact.services
    if not callers:
        empty = np.zeros((0, timeline.n_samples))
        return callers, empty, empty
    delays = np.array([impact.delay_s[s] for s in callers], dtype=np.int64)
    lat_share = np.array([impact.latency_share[s] for s in callers])[:, None]
    err_share = np.array([impact.error_share[s] for s in callers])[:, None]
    latency = lat_share * timeline.shifted_window_means(signature.exported_latency_ms, delays)
    errors = err_share * timeline.shifted_window_means(signature.exported_error, delays)
    return callers, latency, errors


def finish(signals: Signals) -> None:
    """Clip to physical ranges and keep percentiles ordered, in place."""
    v = signals.values
    np.clip(v[CPU], 0.001, 1.0, out=v[CPU])
    np.clip(v[MEMORY], 0.001, 1.0, out=v[MEMORY])
    np.clip(v[ERRORS], 0.0, 1.0, out=v[ERRORS])
    np.maximum(v[P90], v[P50] * 1.05, out=v[P90])
    np.maximum(v[P99], v[P90] * 1.05, out=v[P99])


def to_series(signals: Signals, estate: Estate, timeline: Timeline) -> tuple[MetricSeries, ...]:
    """Return the metrics as domain series, sharing one timestamps tuple, rounded like an exporter."""
    stamps = timeline.timestamps()
    decimals = {CPU: 4, MEMORY: 4, ERRORS: 5, SUCCESS: 5, REQUESTS: 2, P50: 2, P90: 2, P99: 2, NETWORK: 3}
    rounded = {m: np.round(a, decimals[m]) for m, a in signals.values.items()}
    rounded[SUCCESS] = np.round(1.0 - rounded[ERRORS], decimals[SUCCESS])
    series: list[MetricSeries] = []
    for i, service in enumerate(signals.services):
        metrics = (*METRICS, SUCCESS) if estate.profiles[service].has_success_rate else METRICS
        series.extend(
            MetricSeries(service=service, metric=m, timestamps=stamps, values=tuple(rounded[m][i].tolist()))
            for m in metrics
        )
    return tuple(series)


def _ar1(rng: np.random.Generator, n: int, t: int, phi: float, sigma: Floats | float) -> Floats:
    """Return `n` stationary AR(1) paths of length `t`: noise that wanders rather than jitters."""
    shocks = rng.normal(0.0, 1.0, (n, t)) * sigma
    out = np.empty((n, t))
    out[:, 0] = shocks[:, 0] / np.sqrt(1.0 - phi**2)
    for i in range(1, t):
        out[:, i] = phi * out[:, i - 1] + shocks[:, i]
    return out
