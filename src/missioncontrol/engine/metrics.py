"""Score every metric series against its own baseline, all at once. Pure numpy; no I/O.

Series are laid on a shared time grid (one row per series, one column per step) so that a
5,000-service estate costs a handful of vectorised passes instead of 30,000 small ones.
"""

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from missioncontrol.domain import MetricSeries, ServiceId
from missioncontrol.engine.signals import DIRECTION, Family, family_of
from missioncontrol.engine.stats import MAD_TO_SIGMA, FloatArray, row_quantiles

TAIL_QUANTILE = 85.0


@dataclass(frozen=True, slots=True)
class SeriesScore:
    """How far one series left its baseline after the onset, and when it started to."""

    service: ServiceId
    metric: str
    family: Family
    strength: float  # robust z in the bad direction, held over the window (not a single spike)
    onset: float | None  # Unix seconds of the first sustained breach, if any
    observed: float  # median after the onset
    baseline: float  # median before it
    # Median of the later half of the window: what the series is like now. A found onset can land
    # minutes before the fault, and then the whole window's median still holds the healthy minutes.
    latest: float | None = None


@dataclass(frozen=True, slots=True)
class Grid:
    """Series on a shared time grid: `values[i, j]` is series i at `times[j]` (NaN where absent)."""

    keys: tuple[tuple[ServiceId, str], ...]
    times: FloatArray
    values: FloatArray
    step: float


def to_grid(series: Sequence[MetricSeries]) -> Grid:
    """Lay series on one grid whose step is the typical sampling interval."""
    nonempty = [s for s in series if s.timestamps]
    if not nonempty:
        return Grid(keys=(), times=np.zeros(0), values=np.zeros((0, 0)), step=60.0)
    diffs = [np.diff(np.asarray(s.timestamps[:64])) for s in nonempty if len(s.timestamps) > 1]
    positive = np.concatenate(diffs) if diffs else np.zeros(0)
    positive = positive[positive > 0]
    step = float(np.median(positive)) if positive.size else 60.0
    if step >= 2.0:
        # Scrape and export intervals are whole seconds; an estimate a little off, multiplied over
        # hours of samples, would walk jittered samples into the wrong column.
        step = float(round(step))
    start = min(s.timestamps[0] for s in nonempty)
    stop = max(s.timestamps[-1] for s in nonempty)
    n_cols = round((stop - start) / step) + 1
    values = np.full((len(nonempty), n_cols), np.nan)
    for row, s in enumerate(nonempty):
        cols = np.rint((np.asarray(s.timestamps) - start) / step).astype(np.int64)
        values[row, cols] = s.values
    times = start + step * np.arange(n_cols, dtype=np.float64)
    return Grid(keys=tuple((s.service, s.metric) for s in nonempty), times=times, values=values, step=step)


def score_series(
    grid: Grid,
    *,
    onset: float,
    end: float,
    lookback_s: float,
    reference: Grid | None = None,
    onset_threshold: float = 3.0,
) -> list[SeriesScore]:
    """Score every series: robust z of the window [onset, end] against [onset − lookback, onset).

    `reference` is optional healthy telemetry (same keys or a subset) pooled into the baseline.
    """
    if not grid.keys:
        return []
    guard = grid.step * 0.5
    base_cols = (grid.times >= onset - lookback_s) & (grid.times < onset - guard)
    post_cols = (grid.times >= onset - guard) & (grid.times <= end + guard)
    base = grid.values[:, base_cols]
    if reference is not None and reference.keys:
        index = {k: i for i, k in enumerate(reference.keys)}
        extra = np.full((len(grid.keys), reference.values.shape[1]), np.nan)
        for row, key in enumerate(grid.keys):
            ref_row = index.get(key)
            if ref_row is not None:
                extra[row] = reference.values[ref_row]
        base = np.concatenate([base, extra], axis=1)
    post = grid.values[:, post_cols]
    post_times = grid.times[post_cols]
    if post.shape[1] == 0:
        return []
    has_base = np.asarray(np.isfinite(base).any(axis=1), dtype=bool)
    # All-NaN rows are legitimate (a series that only exists after the onset): numpy warns about
    # them, and they are dropped below, so silence exactly that warning here.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, q25, median, q75, hi = row_quantiles(
            base, (1.0 - TAIL_QUANTILE / 100.0, 0.25, 0.5, 0.75, TAIL_QUANTILE / 100.0)
        )
        (mad,) = row_quantiles(np.abs(base - median[:, None]), (0.5,))
        mad = mad * MAD_TO_SIGMA
        scale = np.fmax(np.fmax(mad, (q75 - q25) / 1.349), np.abs(median) * 0.05)
        scale = np.fmax(scale, 1e-6)
        z = (post - median[:, None]) / scale[:, None]
        (observed,) = row_quantiles(post, (0.5,))
        (latest,) = row_quantiles(post[:, post.shape[1] // 2 :], (0.5,))
        # The baseline's own high and low tail: a value the series already reached in normal
        # times is at most a mild anomaly, however flat the baseline's middle is. The 85th
        # percentile, not the max, so that one earlier incident inside the baseline cannot hide this one.
        over_hi = (post - hi[:, None]) / scale[:, None] + onset_threshold
        under_lo = (lo[:, None] - post) / scale[:, None] + onset_threshold
    families = [family_of(metric) for _, metric in grid.keys]
    direction = np.array([DIRECTION[f] for f in families], dtype=np.float64)
    signed = np.where(
        direction[:, None] == 0, np.abs(z), z * np.where(direction == 0, 1.0, direction)[:, None]
    )
    tail = np.where(
        direction[:, None] > 0,
        over_hi,
        np.where(direction[:, None] < 0, under_lo, np.fmax(over_hi, under_lo)),
    )
    signed = np.fmin(signed, tail)
    signed = np.nan_to_num(signed, nan=-np.inf)
    # Held strength: the k-th largest bad-direction z, k ≈ 30 % of the window, so a lone spike
    # in an otherwise healthy window does not count as a fault.
    n_post = post.shape[1]
    k = max(1, int(np.ceil(0.3 * n_post)))
    held = -np.sort(-signed, axis=1)[:, min(k, n_post) - 1]
    breach: np.ndarray = signed >= onset_threshold
    # A change still going at the window's end is held however late it began: the brief is written
    # while the incident unfolds, and its newest samples are the fault, not a spike.
    trailing = _trailing_run_min(signed, breach)
    held = np.fmax(held, trailing)
    held = np.where(np.isfinite(held), held, 0.0)
    held = np.clip(held, 0.0, 1e3)
    # Sustained: this sample and the next both breach (the last sample may stand alone).
    sustained = breach.copy()
    sustained[:, :-1] &= breach[:, 1:]
    first = np.where(sustained.any(axis=1), sustained.argmax(axis=1), -1)
    scores: list[SeriesScore] = []
    for row, (service, metric) in enumerate(grid.keys):
        if not has_base[row]:
            continue
        scores.append(
            SeriesScore(
                service=service,
                metric=metric,
                family=families[row],
                strength=float(held[row]),
                onset=float(post_times[first[row]]) if first[row] >= 0 else None,
                observed=float(observed[row]),
                baseline=float(median[row]),
                latest=float(latest[row]),
            )
        )
    return scores


def _trailing_run_min(signed: FloatArray, breach: np.ndarray) -> FloatArray:
    """Return per row the smallest z of the run of breaching samples that ends the window (-inf: none)."""
    n = signed.shape[1]
    # Length of the run of breaches ending at the last column.
    not_breach = ~breach[:, ::-1]
    run = np.where(not_breach.any(axis=1), not_breach.argmax(axis=1), n)
    cols = np.arange(n)[None, :]
    in_run = cols >= (n - run)[:, None]
    out: FloatArray = np.where(run > 0, np.where(in_run, signed, np.inf).min(axis=1), -np.inf)
    return out
