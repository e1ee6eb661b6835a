"""Published metric-only baselines (BARO, n-sigma, alert counting), run beside our engine in benchmarks.

Each method splits every metric series at one onset time `t` into a normal period (samples before `t`,
plus the case's healthy `baseline` telemetry) and an anomalous period (samples at or after `t`), scores
each series by how far its anomalous samples rise above normal (or stray either way, with
`PeakConfig(two_sided=True)`; the alert counter always looks both ways), and ranks services by their best
series.

Where `t` comes from, in order (see `choose_onset`):

    case.known_onset_at      the true fault start, handed over ("time given", as the papers measure)
    case.alert.started_at    the alert time, late by the detection delay: what these methods get in
                             practice, and where they are known to collapse
    detect_onset(series)     their own simple shift detector, when there is neither

Every statistic runs row-wise on NaN-padded matrices (one row per series), so a case of ~1,100 series
takes a few milliseconds.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from missioncontrol.domain import (
    Case,
    Diagnosis,
    Evidence,
    EvidenceKind,
    FaultKind,
    Hypothesis,
    MetricSeries,
    ServiceId,
    Stance,
)

Matrix = NDArray[np.float64]
Vector = NDArray[np.float64]

THRESHOLD: Final = 3.0  # z-scores: the classic 3-sigma line, used by the detector and the alert counter
MIN_RUN: Final = 2  # consecutive breaching samples that make a shift (or an alert) rather than a blip
SCALE_EPSILON: Final = 1e-3  # floor on a scale, relative to the series' centre, so flat series stay finite


@dataclass(frozen=True, slots=True)
class Onset:
    """The time a method splits normal from anomalous at, and where that time came from."""

    at: float | None  # Unix seconds; None when nothing gave or found one
    source: Literal["given", "alert", "detected", "none"]


def choose_onset(case: Case) -> Onset:
    """Return the split time: the given fault start, else the alert time, else `detect_onset`."""
    if case.known_onset_at is not None:
        return Onset(case.known_onset_at.timestamp(), "given")
    if case.alert is not None:
        return Onset(case.alert.started_at.timestamp(), "alert")
    found = detect_onset(case.telemetry.metrics)
    return Onset(found, "detected" if found is not None else "none")


def detect_onset(series: Sequence[MetricSeries]) -> float | None:
    """Return the earliest time by which a quarter of the series have shifted, or None.

    The first third of the window (first to last timestamp over all series) is taken as normal. Each
    series with at least 3 samples there gets a robust z-score, (x − median) / IQR of that reference;
    it has shifted at the first of at least `MIN_RUN` consecutive later samples beyond `THRESHOLD`.
    The onset is the earliest time by which at least a quarter of the judged series have shifted.
    A fault that starts inside the first third is not found: the reference would hold it.
    """
    panel = _Panel.from_series(series)
    if panel.size == 0:
        return None
    finite = np.isfinite(panel.times)
    first, last = float(panel.times[finite].min()), float(panel.times[finite].max())
    cut = first + (last - first) / 3.0
    reference_mask = panel.times < cut
    has_reference = (reference_mask & ~np.isnan(panel.values)).sum(axis=1) >= 3
    if not has_reference.any():
        return None
    times = panel.times[has_reference]
    values = panel.values[has_reference]
    reference = np.where(reference_mask[has_reference], values, np.nan)
    centre, scale = robust_centre_scale(reference)
    z = np.abs(values - centre[:, None]) / scale[:, None]
    breach = (times >= cut) & (np.nan_to_num(z, nan=0.0) > THRESHOLD)
    starts = _first_run_start(breach, times)
    needed = math.ceil(len(starts) / 4)
    onset = float(np.sort(starts)[needed - 1])
    return onset if math.isfinite(onset) else None


def robust_centre_scale(normal: Matrix) -> tuple[Vector, Vector]:
    """Return each row's median and guarded IQR, ignoring NaN; every row needs one sample."""
    lower, centre, upper = _row_quantiles(normal, (0.25, 0.5, 0.75))
    return centre, _guard(upper - lower, centre)


def _row_quantiles(matrix: Matrix, quantiles: Sequence[float]) -> list[Vector]:
    """Return each row's quantiles, ignoring NaN, interpolated linearly as numpy's default does.

    `np.nanpercentile` loops over rows in Python when rows hold different numbers of NaN (50 ms for a
    1,100-row case); one sort and some index arithmetic do it in well under a millisecond.
    """
    ordered = np.sort(matrix, axis=1)  # NaN sorts last
    counts = (~np.isnan(ordered)).sum(axis=1)
    rows = np.arange(len(ordered))
    result = []
    for q in quantiles:
        position = q * np.maximum(counts - 1, 0)
        below = np.floor(position).astype(np.intp)
        above = np.ceil(position).astype(np.intp)
        low, high = ordered[rows, below], ordered[rows, above]
        result.append(low + (high - low) * (position - below))
    return result


def sigma_centre_scale(normal: Matrix) -> tuple[Vector, Vector]:
    """Return each row's mean and guarded standard deviation, ignoring NaN; every row needs one sample."""
    centre = np.nanmean(normal, axis=1)
    return centre, _guard(np.nanstd(normal, axis=1), centre)


def _guard(scale: Vector, centre: Vector) -> Vector:
    # A flat normal period has scale 0, which would make any wobble infinitely anomalous. Floor it at a
    # small fraction of the series' own level; a series flat at 0 falls back to 1 in its own units, as
    # scikit-learn's RobustScaler (used by BARO's reference code) does.
    floored = np.maximum(scale, SCALE_EPSILON * np.abs(centre))
    return np.where(floored > 0.0, floored, 1.0)


def _first_run_start(breach: NDArray[np.bool_], times: Matrix) -> Vector:
    """Return, per row, the time of the first run of `MIN_RUN` breaching samples (inf when none)."""
    run = breach[:, : breach.shape[1] - MIN_RUN + 1].copy()
    for offset in range(1, MIN_RUN):
        run &= breach[:, offset : breach.shape[1] - MIN_RUN + 1 + offset]
    has_run = run.any(axis=1)
    first = np.argmax(run, axis=1) if run.shape[1] else np.zeros(len(run), dtype=np.intp)
    picked = times[np.arange(len(times)), first] if times.shape[1] else np.full(len(times), np.inf)
    return np.where(has_run, picked, np.inf)


@dataclass(frozen=True, slots=True)
class _Panel:
    """Metric series padded into matrices, one row per series, sorted by time within each row.

    Padding has time +inf and value NaN; non-finite sample values are NaN too, so they drop out of every
    nan-aware statistic.
    """

    services: tuple[ServiceId, ...]
    metrics: tuple[str, ...]
    times: Matrix
    values: Matrix

    @property
    def size(self) -> int:
        return len(self.services)

    @classmethod
    def from_series(cls, series: Sequence[MetricSeries]) -> "_Panel":
        lengths = {len(s.timestamps) for s in series}
        if len(lengths) == 1:
            # The usual case: every series on one scrape grid. One C-level conversion, no padding.
            times = np.array([s.timestamps for s in series], dtype=np.float64)
            values = np.array([s.values for s in series], dtype=np.float64)
        else:
            width = max(lengths, default=0)
            times = np.full((len(series), width), np.inf)
            values = np.full((len(series), width), np.nan)
            for row, s in enumerate(series):
                times[row, : len(s.timestamps)] = s.timestamps
                values[row, : len(s.values)] = s.values
        values[~np.isfinite(values) | ~np.isfinite(times)] = np.nan
        times[~np.isfinite(times)] = np.inf
        # The domain promises ascending timestamps; checking is cheap and keeps runs honest if not.
        if not (times[:, 1:] >= times[:, :-1]).all():
            order = np.argsort(times, axis=1, kind="stable")
            times = np.take_along_axis(times, order, axis=1)
            values = np.take_along_axis(values, order, axis=1)
        return cls(
            services=tuple(s.service for s in series),
            metrics=tuple(s.metric for s in series),
            times=times,
            values=values,
        )


@dataclass(frozen=True, slots=True)
class _Split:
    """A case's series split at the onset, keeping only series with samples on both sides."""

    services: tuple[ServiceId, ...]
    metrics: tuple[str, ...]
    times: Matrix  # anomalous-period sample times (NaN elsewhere), row per kept series
    anomalous: Matrix  # anomalous-period values, NaN elsewhere
    normal: Matrix  # baseline telemetry then pre-onset values, NaN elsewhere


def _split(case: Case, at: float) -> _Split:
    """Split every series at `at`; the normal side also takes the matching `case.baseline` samples."""
    panel = _Panel.from_series(case.telemetry.metrics)
    healthy: dict[tuple[ServiceId, str], list[float]] = {}
    for s in case.baseline.metrics:
        healthy.setdefault((s.service, s.metric), []).extend(s.values)
    width = max((len(v) for v in healthy.values()), default=0)
    base = np.full((panel.size, width), np.nan)
    for row, key in enumerate(zip(panel.services, panel.metrics, strict=True)):
        samples = healthy.get(key)
        if samples:
            base[row, : len(samples)] = samples
    base[~np.isfinite(base)] = np.nan
    has_value = ~np.isnan(panel.values)
    before = (panel.times < at) & has_value
    after = (panel.times >= at) & has_value
    normal = np.hstack([base, np.where(before, panel.values, np.nan)])
    keep = (~np.isnan(normal)).any(axis=1) & after.any(axis=1)
    return _Split(
        services=tuple(s for s, k in zip(panel.services, keep, strict=True) if k),
        metrics=tuple(m for m, k in zip(panel.metrics, keep, strict=True) if k),
        times=np.where(after, panel.times, np.nan)[keep],
        anomalous=np.where(after, panel.values, np.nan)[keep],
        normal=normal[keep],
    )


@dataclass(frozen=True, slots=True)
class _Suspect:
    """A service's standing under one method, with the series that earned it."""

    service: ServiceId
    score: float
    metric: str
    value: float  # the anomalous sample that scored
    baseline: float  # the normal centre it was compared with
    z: float
    onset_at: float | None = None


def _fault_of(metric: str) -> FaultKind:
    lowered = metric.lower()
    if "cpu" in lowered:
        return FaultKind.CPU
    if "mem" in lowered:
        return FaultKind.MEMORY
    return FaultKind.UNKNOWN


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, tz=UTC)


def _window(case: Case, onset: Onset) -> tuple[datetime, datetime]:
    stamps = [t for s in case.telemetry.metrics for t in (s.timestamps[:1] + s.timestamps[-1:])]
    finite = [t for t in stamps if math.isfinite(t)]
    if finite:
        return _utc(min(finite)), _utc(max(finite))
    if onset.at is not None:
        return _utc(onset.at), _utc(onset.at)
    return _utc(0.0), _utc(0.0)


_ONSET_NOTES: Final = {
    "given": "onset: the given fault start",
    "alert": "onset: the alert time, late by the detection delay",
    "detected": "onset: found by the baseline's own shift detector",
    "none": "onset: none given and no shift found; nothing ranked",
}


def _diagnose(
    case: Case,
    method: str,
    rank: Callable[[_Split], list[_Suspect]],
    describe: Callable[[_Suspect], str],
) -> Diagnosis:
    """Split `case` at its onset, rank suspects with `rank`, and wrap them as a diagnosis."""
    onset = choose_onset(case)
    window = _window(case, onset)
    notes = [_ONSET_NOTES[onset.source]]
    suspects: list[_Suspect] = []
    if onset.at is not None:
        split = _split(case, onset.at)
        if split.services:
            suspects = rank(split)
        else:
            notes.append("no series has samples both before and after the onset; nothing ranked")
    # One-sided scores can be negative (a series that only fell); those carry no weight.
    total = sum(max(s.score, 0.0) for s in suspects)
    hypotheses = []
    for suspect in suspects:
        if total > 0.0 and math.isfinite(total):
            confidence = max(suspect.score, 0.0) / total
        else:
            confidence = 1.0 / len(suspects)
        query = f"{suspect.service}/{suspect.metric}"
        span = (_utc(onset.at) if onset.at is not None else window[0], window[1])
        evidence = Evidence(
            kind=EvidenceKind.METRIC_ANOMALY,
            service=suspect.service,
            summary=f"{query} reached {suspect.value:.4g} against a normal {suspect.baseline:.4g} "
            f"(z = {suspect.z:.1f})",
            source="metrics",
            query=query,
            window=span,
            stance=Stance.SUPPORTS,
            value=suspect.value,
            baseline=suspect.baseline,
            weight=suspect.score,
        )
        hypotheses.append(
            Hypothesis(
                service=suspect.service,
                fault=_fault_of(suspect.metric),
                cause=describe(suspect),
                score=suspect.score,
                confidence=confidence,
                path=(suspect.service,),
                evidence=(evidence,),
                onset_at=_utc(suspect.onset_at) if suspect.onset_at is not None else None,
            )
        )
    return Diagnosis(
        case_id=case.id,
        method=method,
        symptom=case.alert.service if case.alert is not None else None,
        onset_at=_utc(onset.at) if onset.at is not None else None,
        window=window,
        hypotheses=tuple(hypotheses),
        notes=tuple(notes),
    )


@dataclass(frozen=True, slots=True)
class PeakConfig:
    """Tuning for BaroRanker and NSigmaRanker.

    By default a series scores its highest z, so only rises count: that is what the BARO authors'
    reference code does (`max(zscores)`, for BARO and n-sigma alike), and it reproduces their published
    Sock Shop numbers. `two_sided=True` scores max |z| instead, so drops (a success rate falling, a
    crashed service's CPU going quiet) count too; the method's name then gains an `_abs` suffix so both
    variants can run in one benchmark.
    """

    two_sided: bool = False


def _peak_ranking(
    statistic: Callable[[Matrix], tuple[Vector, Vector]],
    *,
    two_sided: bool,
) -> Callable[[_Split], list[_Suspect]]:
    """Return a ranking that scores each series by its peak z (or |z|), and a service by its best series."""

    def rank(split: _Split) -> list[_Suspect]:
        centre, scale = statistic(split.normal)
        z = (split.anomalous - centre[:, None]) / scale[:, None]
        strength = np.nan_to_num(np.abs(z) if two_sided else z, nan=-np.inf)
        peak_at = np.argmax(strength, axis=1)
        rows = np.arange(len(z))
        peaks = strength[rows, peak_at]
        best: dict[ServiceId, _Suspect] = {}
        for row in range(len(rows)):
            service, metric = split.services[row], split.metrics[row]
            score = float(peaks[row])
            held = best.get(service)
            # Ties between a service's own metrics go to the metric name that sorts first.
            if held is None or (score, held.metric) > (held.score, metric):
                best[service] = _Suspect(
                    service=service,
                    score=score,
                    metric=metric,
                    value=float(split.anomalous[row, peak_at[row]]),
                    baseline=float(centre[row]),
                    z=float(z[row, peak_at[row]]),
                )
        return sorted(best.values(), key=lambda s: (-s.score, s.service))

    return rank


class BaroRanker:
    """Rank services by robust z-score, as in BARO's root-cause ranking step (Pham et al., FSE 2024).

    Each anomalous sample is scored z = (x − median) / IQR against the normal period; a series scores
    its peak z (see `PeakConfig`), and a service its best series.
    """

    def __init__(self, config: PeakConfig | None = None) -> None:
        self.config = config or PeakConfig()
        self.name = "baro_abs" if self.config.two_sided else "baro"

    def diagnose(self, case: Case) -> Diagnosis:
        """Return services ranked by their most robust-z-anomalous metric."""
        return _diagnose(
            case,
            self.name,
            _peak_ranking(robust_centre_scale, two_sided=self.config.two_sided),
            lambda s: f"{s.metric} peaked at z = {s.z:+.1f} IQRs from its normal median",
        )


class NSigmaRanker:
    """Rank services by n-sigma score: like BARO, but z = (x − mean) / standard deviation."""

    def __init__(self, config: PeakConfig | None = None) -> None:
        self.config = config or PeakConfig()
        self.name = "nsigma_abs" if self.config.two_sided else "nsigma"

    def diagnose(self, case: Case) -> Diagnosis:
        """Return services ranked by their most sigma-anomalous metric."""
        return _diagnose(
            case,
            self.name,
            _peak_ranking(sigma_centre_scale, two_sided=self.config.two_sided),
            lambda s: f"{s.metric} peaked at z = {s.z:+.1f} sigmas from its normal mean",
        )


@dataclass(slots=True)
class _Tally:
    """One service's alerts so far, while counting."""

    count: int = 0
    first: float = math.inf  # earliest alert
    largest: float = -math.inf  # largest |z| among alerting metrics (any metric while none alerts)
    row: int = -1  # the series that holds `largest`


def _rank_alerts(split: _Split) -> list[_Suspect]:
    """Rank services by alerting metrics, then earliest alert, then largest breach, then name.

    A metric alerts when it stays beyond 3 sigma of its normal mean for `MIN_RUN` consecutive anomalous
    samples. A service without alerts falls back to its largest |z| for the last tie-break.
    """
    centre, scale = sigma_centre_scale(split.normal)
    z = (split.anomalous - centre[:, None]) / scale[:, None]
    size = np.nan_to_num(np.abs(z), nan=-np.inf)
    breach = size > THRESHOLD
    alert_at = _first_run_start(breach, np.nan_to_num(split.times, nan=np.inf))
    is_alert = np.isfinite(alert_at)
    peak_at = np.argmax(size, axis=1)
    peaks = size[np.arange(len(size)), peak_at]

    tallies: dict[ServiceId, _Tally] = {}
    for row, service in enumerate(split.services):
        tally = tallies.setdefault(service, _Tally())
        if is_alert[row]:
            if tally.count == 0:
                tally.largest = -math.inf  # alerts outrank any near-miss seen before
            tally.count += 1
            tally.first = min(tally.first, float(alert_at[row]))
        elif tally.count > 0:
            continue
        if peaks[row] > tally.largest or tally.row < 0:
            tally.largest, tally.row = float(peaks[row]), row
    suspects = [
        _Suspect(
            service=service,
            score=float(tally.count),
            metric=split.metrics[tally.row],
            value=float(split.anomalous[tally.row, peak_at[tally.row]]),
            baseline=float(centre[tally.row]),
            z=float(z[tally.row, peak_at[tally.row]]),
            onset_at=tally.first if math.isfinite(tally.first) else None,
        )
        for service, tally in tallies.items()
    ]
    return sorted(
        suspects,
        key=lambda s: (-s.score, tallies[s.service].first, -tallies[s.service].largest, s.service),
    )


class AlertCountRanker:
    """Rank services by how many of their metrics alert, after SimpleRCA (Fang et al., 2025).

    A metric alerts when it breaches 3 sigma of its normal mean for 2 consecutive anomalous samples; ties
    go to the earliest alert, then the largest breach.
    """

    name = "alert_count"

    def diagnose(self, case: Case) -> Diagnosis:
        """Return services ranked by their count of alerting metrics."""
        return _diagnose(
            case,
            self.name,
            _rank_alerts,
            lambda s: f"{int(s.score)} metric(s) alerted; largest: {s.metric} at {abs(s.z):.1f} sigmas",
        )
