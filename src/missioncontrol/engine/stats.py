"""Robust statistics for anomaly scoring and onset finding. Pure numpy; no I/O."""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# MAD of a normal distribution is 0.6745 σ; scaling by 1.4826 makes it estimate σ.
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class Baseline:
    """A robust summary of normal behaviour: centre and spread, with a floor on the spread."""

    median: float
    scale: float
    n: int


def baseline_of(
    values: FloatArray, *, relative_floor: float = 0.05, absolute_floor: float = 1e-6
) -> Baseline:
    """Return the median and a robust scale (MAD·1.4826, or IQR/1.349 if larger), floored.

    The floor stops a flat baseline (a counter that never moved) from turning the first small
    wiggle into an infinite z-score: a deviation must be a fair fraction of the level itself.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Baseline(median=float("nan"), scale=float("nan"), n=0)
    median = float(np.median(finite))
    mad = float(np.median(np.abs(finite - median))) * MAD_TO_SIGMA
    q75, q25 = (float(q) for q in np.percentile(finite, [75.0, 25.0]))
    iqr_sigma = (q75 - q25) / 1.349
    scale = max(mad, iqr_sigma, abs(median) * relative_floor, absolute_floor)
    return Baseline(median=median, scale=scale, n=int(finite.size))


def robust_z(values: FloatArray, baseline: Baseline) -> FloatArray:
    """Return (x − median) / scale for every value; NaN stays NaN."""
    return (values - baseline.median) / baseline.scale


def row_quantiles(values: FloatArray, quantiles: tuple[float, ...]) -> list[FloatArray]:
    """Return, per quantile in 0..1, each row's quantile ignoring NaN (NaN for an all-NaN row).

    One sort serves every quantile; numpy's nanpercentile loops over rows in Python, which is
    the slow part of scoring thousands of series.
    """
    ordered = np.sort(values, axis=1)  # NaN sorts last
    counts = np.isfinite(values).sum(axis=1)
    rows = np.arange(values.shape[0])
    out: list[FloatArray] = []
    for q in quantiles:
        position = np.maximum(counts - 1, 0) * q
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, np.maximum(counts - 1, 0))
        frac = position - low
        if values.shape[1] == 0:
            out.append(np.full(values.shape[0], np.nan))
            continue
        result = ordered[rows, low] * (1.0 - frac) + ordered[rows, high] * frac
        out.append(np.where(counts > 0, result, np.nan))
    return out


def sustained_onset(
    z: FloatArray, timestamps: FloatArray, *, threshold: float, run: int = 2, start: float | None = None
) -> float | None:
    """Return the first timestamp from which |z| ≥ threshold holds for `run` consecutive samples.

    A single spike is noise; a fault holds. Near the end of the data the run may be shorter.
    """
    above = np.abs(np.nan_to_num(z, nan=0.0)) >= threshold
    if start is not None:
        above &= timestamps >= start
    for i in np.flatnonzero(above):
        # Near the end of the data a shorter run is all there is to see; accept it.
        if above[i : i + run].all():
            return float(timestamps[i])
    return None


def mean_shift_point(values: FloatArray, *, min_segment: int = 2) -> tuple[int, float]:
    """Return the split index maximising the two-segment mean-shift statistic, and that statistic.

    This is the classic single change-point CUSUM/likelihood split: for each k, the squared
    difference of segment means weighted by k(n−k)/n, normalised by the robust scale.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 2 * min_segment:
        return 0, 0.0
    csum = np.cumsum(x)
    total = csum[-1]
    ks = np.arange(min_segment, n - min_segment + 1)
    left = csum[ks - 1] / ks
    right = (total - csum[ks - 1]) / (n - ks)
    stat = np.abs(left - right) * np.sqrt(ks * (n - ks) / n)
    scale = baseline_of(x).scale
    best = int(np.argmax(stat))
    return int(ks[best]), float(stat[best] / scale)


def squash(x: float, *, half: float) -> float:
    """Map a non-negative strength onto 0..1, reaching 0.5 at `half`: x / (x + half)."""
    if x <= 0.0 or not np.isfinite(x):
        return 0.0
    return x / (x + half)
