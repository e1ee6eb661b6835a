"""A generic SLI alert rule: fire on the first sample that breaches a robust recent baseline. Pure.

For each checked column and each sample in the evaluation range, in time order, the baseline is
the column's samples in the preceding `baseline` window (the sample itself excluded)::

    median m, MAD d (scaled by 1.4826 to match a standard deviation)
    higher is worse:  breach if value > max(m + k·d, m·(1 + margin))
    lower is worse:   breach if value < min(m − k·d, m·(1 − margin))

The relative margin keeps a flat baseline (d = 0) from firing on noise. A column whose baseline
is constantly 0 is not being measured (Train Ticket reports a success rate of 0 all day), so the
check switches itself off there; a constant 100 % success rate stays live and fires on a drop.
"""

import hashlib
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from missioncontrol.domain import Alert, AlertStatus, Severity

MAD_TO_SIGMA = 1.4826


class Direction(StrEnum):
    """Which way a column goes when users suffer."""

    UP = "up"  # latency
    DOWN = "down"  # success rate


@dataclass(frozen=True, slots=True)
class SliCheck:
    """One column to watch, which way is bad, and the relative margin a breach must also clear."""

    column: str
    direction: Direction
    margin: float


@dataclass(frozen=True, slots=True)
class SliRule:
    """Tuning for `first_breach`: the checks, in priority order, and the robust baseline."""

    checks: tuple[SliCheck, ...]
    baseline: timedelta = timedelta(minutes=30)
    k: float = 3.0
    min_baseline_samples: int = 10  # a third of a 30-minute baseline at a 1-minute step


@dataclass(frozen=True, slots=True)
class Breach:
    """The first sample that breached: when, which column, and against what."""

    at: float  # Unix seconds of the breaching sample
    column: str
    direction: Direction
    value: float
    median: float
    threshold: float


def threshold(baseline: Sequence[float], check: SliCheck, *, k: float) -> tuple[float, float] | None:
    """Return (median, threshold) for `check` over `baseline`, or None when the check is off."""
    median = statistics.median(baseline)
    mad = MAD_TO_SIGMA * statistics.median(abs(v - median) for v in baseline)
    if median == 0 and mad == 0:
        return None  # constantly 0: the column is not measured here
    if check.direction is Direction.UP:
        return median, max(median + k * mad, median * (1 + check.margin))
    return median, min(median - k * mad, median * (1 - check.margin))


def first_breach(
    columns: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    start: float,
    end: float,
    rule: SliRule,
) -> Breach | None:
    """Return the first sample in [start, end] that breaches any check of `rule`, or None.

    `columns` maps a column name to (timestamps ascending, values). Samples are evaluated in time
    order, as a rule evaluated minute by minute would; at one instant the checks' order decides.
    """
    window = rule.baseline.total_seconds()
    candidates: list[tuple[float, int, float, Sequence[float], Sequence[float], SliCheck]] = []
    for priority, check in enumerate(rule.checks):
        if check.column not in columns:
            continue
        times, values = columns[check.column]
        for i in range(bisect_left(times, start), bisect_right(times, end)):
            candidates.append((times[i], priority, values[i], times, values, check))
    candidates.sort(key=lambda c: (c[0], c[1]))
    for at, _, value, times, values, check in candidates:
        baseline = values[bisect_left(times, at - window) : bisect_left(times, at)]
        if len(baseline) < rule.min_baseline_samples:
            continue
        limits = threshold(baseline, check, k=rule.k)
        if limits is None:
            continue
        median, limit = limits
        breached = value > limit if check.direction is Direction.UP else value < limit
        if breached:
            return Breach(
                at=at,
                column=check.column,
                direction=check.direction,
                value=value,
                median=median,
                threshold=limit,
            )
    return None


def to_alert(breach: Breach, *, source: str, baseline: timedelta) -> Alert:
    """Return the front-door Alert for `breach`: no service, the breached column as its signal."""
    at = datetime.fromtimestamp(breach.at, tz=UTC)
    side = "above" if breach.direction is Direction.UP else "below"
    minutes = round(baseline.total_seconds() / 60)
    return Alert(
        fingerprint=hashlib.sha256(f"{source}|{breach.column}|{at.isoformat()}".encode()).hexdigest()[:16],
        name="FrontDoorSLIBreach",
        severity=Severity.WARNING,
        status=AlertStatus.FIRING,
        service=None,
        signal=breach.column,
        started_at=at,
        received_at=at,
        summary=(
            f"front door {breach.column} is {breach.value:.4g}, {side} its threshold {breach.threshold:.4g} "
            f"(median of the previous {minutes} min: {breach.median:.4g})"
        ),
        labels={"scope": "front-door"},
    )
