"""Alert rules of a simulated estate: SLI thresholds on entry points and a semantic-check log rule.

A rule looks at a sample window once it closes and fires after a short evaluation delay. The fired
time is clamped to 1–3 minutes after onset, the range the rules in these stories are tuned for; when
no SLI crosses its line at all, the page goes out on the largest rise.
"""

import hashlib
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from missioncontrol.connectors.simulator.estate import Estate
from missioncontrol.connectors.simulator.signals import ERRORS, P90, Signals
from missioncontrol.connectors.simulator.timeline import Timeline
from missioncontrol.domain import Alert, AlertStatus, ServiceId, Severity

LATENCY_RULE = 1.6  # fires above this multiple of the entry point's healthy p90
ERROR_RULE_FLOOR = 0.02  # fires above 2 % errors, or 4× the healthy rate if that is higher
SEMANTIC_SIGNAL = "log:semantic_check_failed"
FIRST_ALERT_S = 60
LAST_ALERT_S = 180

NAMES = {P90: "HighLatencyP90", ERRORS: "HighErrorRate", SEMANTIC_SIGNAL: "SemanticCheckFailures"}


def sli_alert(
    estate: Estate,
    timeline: Timeline,
    signals: Signals,
    candidates: Sequence[ServiceId],
    rng: random.Random,
) -> Alert:
    """Return the alert of the entry point whose SLI breaches first at or after onset."""
    start = timeline.onset_index
    best: tuple[int, float, ServiceId, str] | None = None
    for service in sorted(candidates):
        for metric, threshold in thresholds(estate, service).items():
            series = signals.series(metric, service)
            over = np.flatnonzero(series[start:] > threshold)
            if over.size:
                i = start + int(over[0])
                key = (i, -float(series[i]) / threshold, service, metric)
                best = key if best is None or key < best else best
    if best is None:
        # Nothing crossed its line: the on-call's rule is coarser than ours, so page on the largest rise.
        rises = [
            (float(signals.series(m, s)[start:].max()) / thr, s, m)
            for s in sorted(candidates)
            for m, thr in thresholds(estate, s).items()
        ]
        _, service, metric = max(rises)
        index = start + int(np.argmax(signals.series(metric, service)[start:]))
    else:
        index, _, service, metric = best
    series = signals.series(metric, service)
    healthy = float(np.median(series[:start]))
    value = float(series[index])
    if metric == P90:
        summary = f"latency_p90 of {service} at {value:.0f} ms (healthy about {healthy:.0f} ms)"
    else:
        summary = f"error_rate of {service} at {value:.1%} (healthy about {healthy:.2%})"
    return _alert(estate, service, metric, _fired_at(timeline, index, rng), summary)


def semantic_alert(
    estate: Estate,
    timeline: Timeline,
    counts: Mapping[ServiceId, npt.NDArray[np.int64]],
    rng: random.Random,
    *,
    rule_per_window: int,
) -> Alert:
    """Return the log-rate alert of the caller whose semantic-check failures cross the rule first."""
    start = timeline.onset_index
    firsts = []
    for caller, per_window in sorted(counts.items()):
        over = np.flatnonzero(per_window[start:] >= rule_per_window)
        if over.size:
            firsts.append((start + int(over[0]), -int(per_window[start + int(over[0])]), caller))
    if firsts:
        index, _, caller = min(firsts)
    else:
        caller = max(sorted(counts), key=lambda c: int(counts[c].sum()))
        index = start + int(np.argmax(counts[caller][start:]))
    lines = int(counts[caller][index])
    summary = f"{lines} semantic-check failures logged by {caller} in one window (rule: {rule_per_window})"
    return _alert(estate, caller, SEMANTIC_SIGNAL, _fired_at(timeline, index, rng), summary)


def thresholds(estate: Estate, service: ServiceId) -> dict[str, float]:
    """Return the SLI alert thresholds of a service."""
    p = estate.profiles[service]
    return {P90: p.latency_ms * p.p90_ratio * LATENCY_RULE, ERRORS: max(ERROR_RULE_FLOOR, 4 * p.error_rate)}


def _fired_at(timeline: Timeline, index: int, rng: random.Random) -> float:
    """Return when a rule that saw a breach in window `index` fires: after the window closes."""
    closed = timeline.start_s + (index + 1) * timeline.step_s
    fired = closed + rng.uniform(5.0, 40.0)  # evaluation interval plus notification pipeline
    return round(min(max(fired, timeline.onset_s + FIRST_ALERT_S), timeline.onset_s + LAST_ALERT_S), 3)


def _alert(estate: Estate, service: ServiceId, signal: str, fired_s: float, summary: str) -> Alert:
    name = NAMES[signal]
    fingerprint = hashlib.sha256(f"{name}|{service}|{signal}".encode()).hexdigest()[:16]
    fired = datetime.fromtimestamp(fired_s, UTC)
    return Alert(
        fingerprint=fingerprint,
        name=name,
        severity=Severity.CRITICAL,
        status=AlertStatus.FIRING,
        service=service,
        signal=signal,
        started_at=fired,
        received_at=fired + timedelta(seconds=2),
        summary=summary,
        labels={
            "alertname": name,
            "service": service,
            "severity": Severity.CRITICAL.value,
            "team": estate.profiles[service].team,
        },
    )
