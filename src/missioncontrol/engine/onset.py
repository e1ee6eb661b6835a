"""Decide when the incident began: handed over, found near the alert, or found from the data alone."""

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from missioncontrol.domain import LogRecord, ServiceId
from missioncontrol.engine.logs import is_error_line, mask
from missioncontrol.engine.metrics import Grid
from missioncontrol.engine.signals import DIRECTION, family_of
from missioncontrol.engine.stats import MAD_TO_SIGMA, FloatArray, row_quantiles


class OnsetSource(StrEnum):
    GIVEN = "given"  # the case said when the fault started
    ALERT = "alert"  # change points in the minutes before the alert
    DATA = "data"  # no alert: the strongest shared change point in the data


@dataclass(frozen=True, slots=True)
class Window:
    """The incident window: analysis from `onset` to `end` (Unix seconds), and how it was decided.

    `estimate` is the best guess of when the fault began, for the brief. `onset` may lie a little
    earlier: a window that starts early only dilutes the evidence, one that starts late misses it.
    """

    onset: float
    end: float
    source: OnsetSource
    explanation: str
    estimate: float | None = None

    @property
    def began_at(self) -> float:
        """Return the best estimate of when the fault began."""
        return self.onset if self.estimate is None else self.estimate


@dataclass(frozen=True, slots=True)
class ErrorLogs:
    """Log lines observed until `until` (Unix seconds), the normal-times lines to compare them with."""

    lines: Sequence[LogRecord]
    reference: Sequence[LogRecord]
    until: float
    step: float = 30.0  # log lines carry exact times: finer than most metric scrapes


def _earliest_strong(weights: np.ndarray, *, share: float) -> int:
    """Return the earliest bin holding at least `share` of the heaviest bin's weight."""
    peak = float(weights.max())
    return int(np.flatnonzero(weights >= share * peak)[0])


def onset_before_alert(
    grid: Grid,
    *,
    alert_at: float,
    search_s: float,
    lookback_s: float,
    detection_delay_s: float = 180.0,
    threshold: float = 4.0,
    errors: ErrorLogs | None = None,
) -> tuple[float, str]:
    """Return the onset found in [alert − search, alert]: the start of the unrest that led to the alert.

    Every sample is scored against its series' baseline from before the search range. "Unrest"
    at a time step is the summed strength of the series breaching then; its normal level is
    measured the same way over the baseline itself. Walking back from the alert, the onset is the
    first step of the unbroken run of abnormal unrest that reaches the alert: the alert fires soon
    after a fault begins, and an earlier, separate episode (the previous incident) is not this one.
    The onset is never put later than `detection_delay_s` before the alert. Where no metric is
    restless, code faults may still have written new error lines (`errors`): an episode of them
    that runs on to the brief and began earlier than the detection delay sets the onset.
    """
    lo = alert_at - search_s
    base_cols = (grid.times >= lo - lookback_s) & (grid.times < lo)
    search_cols = (grid.times >= lo) & (grid.times <= alert_at + grid.step * 0.5)
    if base_cols.sum() < 4 or not search_cols.any():
        return alert_at, "too little data before the alert to search; onset taken as the alert time"
    base = grid.values[:, base_cols]
    window = grid.values[:, search_cols]
    times = grid.times[search_cols]
    direction = np.array([DIRECTION[family_of(m)] for _, m in grid.keys], dtype=np.float64)
    q25, median, q75 = row_quantiles(base, (0.25, 0.5, 0.75))
    (mad,) = row_quantiles(np.abs(base - median[:, None]), (0.5,))
    scale = np.fmax(np.fmax(mad * MAD_TO_SIGMA, (q75 - q25) / 1.349), np.fmax(np.abs(median) * 0.05, 1e-6))

    def unrest(values: FloatArray) -> FloatArray:
        with np.errstate(all="ignore"):
            z = (values - median[:, None]) / scale[:, None]
        signed = np.where(
            direction[:, None] == 0, np.abs(z), z * np.where(direction == 0, 1.0, direction)[:, None]
        )
        signed = np.nan_to_num(signed, nan=0.0)
        strength: FloatArray = np.where(signed >= threshold, np.log1p(np.clip(signed, 0.0, 50.0)), 0.0)
        return np.asarray(strength.sum(axis=0), dtype=np.float64)

    normal = unrest(base)
    level = unrest(window)
    # Abnormal: above the baseline's own unrest by three of its (robust) deviations.
    centre = float(np.median(normal))
    spread = max(float(np.median(np.abs(normal - centre))) * MAD_TO_SIGMA, float(np.std(normal)), 1e-6)
    abnormal = level > centre + 3.0 * spread
    if not abnormal.any():
        found = onset_from_logs(errors, start=lo) if errors is not None else None
        if found is not None and found[0] < alert_at - detection_delay_s:
            return found
        # The fault began before the rule fired; how long before is unknown, so reach back by a
        # typical detection delay rather than start the window at the alert and miss the cause.
        return alert_at - detection_delay_s, (
            f"no abnormal unrest before the alert; onset taken {detection_delay_s:.0f} s before it"
        )
    last = int(np.flatnonzero(abnormal)[-1])
    first = last
    while first > 0 and abnormal[first - 1]:
        first -= 1
    run = last - first + 1
    # Never later than a typical detection delay before the alert: a window that starts early
    # only dilutes the evidence, one that starts late misses the cause.
    onset = min(float(times[first]), alert_at - detection_delay_s)
    gap = alert_at - float(times[last])
    ending = f"ending {gap:.0f} s before the alert" if gap > 0 else "reaching the alert"
    return onset, f"{run} step(s) of abnormal unrest, {ending}"


def onset_from_data(grid: Grid, *, search_s: float, lookback_s: float) -> tuple[float, str]:
    """Return the strongest change point shared by many series in the last `search_s` of data.

    With no alert there is no anchor: each series votes for its own best mean-shift split
    (CUSUM statistic, normalised by the noise of its first differences), weighted by strength.
    """
    end = float(grid.times[-1])
    cols = grid.times >= end - search_s - lookback_s
    x = grid.values[:, cols]
    times = grid.times[cols]
    n = times.size
    if n < 6:
        return float(times[0]), "too little data to find a change point; onset taken as the first sample"
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        fill = np.nanmedian(x, axis=1)
        x = np.where(np.isfinite(x), x, fill[:, None])
        x = np.nan_to_num(x, nan=0.0)
        noise = np.median(np.abs(np.diff(x, axis=1)), axis=1) * MAD_TO_SIGMA / np.sqrt(2.0)
        noise = np.fmax(np.fmax(noise, np.abs(fill) * 0.01), 1e-6)
    csum = np.cumsum(x, axis=1)
    total = csum[:, -1:]
    ks = np.arange(2, n - 1)
    left = csum[:, ks - 1] / ks
    right = (total - csum[:, ks - 1]) / (n - ks)
    stat = np.abs(left - right) * np.sqrt(ks * (n - ks) / n) / noise[:, None]
    search_from = end - search_s
    allowed = times[ks] >= search_from
    stat[:, ~allowed] = 0.0
    best = stat.argmax(axis=1)
    best_stat = stat[np.arange(stat.shape[0]), best]
    strong = best_stat >= max(5.0, float(np.percentile(best_stat, 75)))
    if not strong.any():
        return float(
            times[ks[allowed][0]]
        ), "no clear change point in the data; onset taken as the search start"
    weights = np.bincount(best[strong], weights=np.log1p(best_stat[strong]), minlength=ks.size)
    # Smooth by one bin either side: series split a step apart are describing the same change.
    smooth = weights + np.concatenate([[0.0], weights[:-1]]) + np.concatenate([weights[1:], [0.0]])
    # Only a split some series actually voted for may be the onset: smoothing must not pull it a
    # step earlier than any series changed.
    smooth = np.where(weights > 0.0, smooth, 0.0)
    onset = float(times[ks[_earliest_strong(smooth, share=0.6)]])
    return onset, f"{int(strong.sum())} series share a change point; no alert to anchor on"


# A log site's error lines form an episode when at least this many appear; an episode ends where the
# site fell silent for more than `QUIET_STEPS` steps in which other lines were written.
EPISODE_MIN_LINES = 3
QUIET_STEPS = 3
# The rate, lines per minute, that a site never seen erring is still allowed: one stray error is not
# an onset. An episode must hold more lines than this explains by four Poisson deviations.
STRAY_ERRORS_PER_MIN = 0.05


@dataclass(frozen=True, slots=True)
class ErrorEpisode:
    """A run of error lines from a log site (service and masked head) that never erred in normal times."""

    service: ServiceId
    head: str
    start: float
    end: float
    lines: int
    expected: float  # stray lines allowed over the episode's logged minutes
    surprise: float  # Poisson log-likelihood ratio of the count against `expected`, > 0


def error_episodes(logs: ErrorLogs, *, start: float, end: float, reach: float) -> list[ErrorEpisode]:
    """Return the surprising episodes of new error lines in [start, end] that last until `reach`.

    A *site* is a service and the masked head of a line, as the log miner keys them. Only sites that
    wrote no error line in the reference count: an error the estate also writes in normal times
    (workload noise, periodic retries, a flaky batch job) says nothing about when this began.
    Time is counted in steps that hold any line at all: a gap in a log export says nothing, so it
    neither ends an episode nor makes one look quiet. A site's episode is its error lines back from
    its last one, until the site was silent for more than `QUIET_STEPS` logged steps; it must not
    have fallen silent like that before `reach` either: errors that stopped belong to an earlier story.
    """
    step = logs.step
    n = max(int((end - start) // step) + 1, 0)
    if n == 0:
        return []
    logged = np.zeros(n, dtype=bool)
    sites: dict[tuple[ServiceId, str], list[float]] = {}
    for r in logs.lines:
        j = int((r.timestamp - start) // step)
        if not 0 <= j < n:
            continue
        logged[j] = True
        if is_error_line(r):
            sites.setdefault((r.service, mask(r.message)), []).append(r.timestamp)
    if not sites:
        return []
    known = {(r.service, mask(r.message)) for r in logs.reference if is_error_line(r)}
    # cum[j]: logged steps before step j, so the logged steps strictly between steps a < b are
    # cum[b] − cum[a + 1].
    cum = np.concatenate([[0], np.cumsum(logged)])

    def col(t: float) -> int:
        return min(max(int((t - start) // step), 0), n - 1)

    def quiet(a: float, b: float) -> int:
        ja, jb = col(a), col(b)
        return int(cum[jb] - cum[ja + 1]) if jb > ja + 1 else 0

    out: list[ErrorEpisode] = []
    for (service, head), stamps in sites.items():
        if (service, head) in known:
            continue
        stamps.sort()
        if quiet(stamps[-1], reach) > QUIET_STEPS:
            continue
        first = len(stamps) - 1
        while first > 0 and quiet(stamps[first - 1], stamps[first]) <= QUIET_STEPS:
            first -= 1
        k = len(stamps) - first
        minutes = int(cum[col(stamps[-1]) + 1] - cum[col(stamps[first])]) * step / 60.0
        expected = STRAY_ERRORS_PER_MIN * max(minutes, step / 60.0)
        if k < EPISODE_MIN_LINES or k < expected + 4.0 * math.sqrt(expected) + 1.0:
            continue
        surprise = k * math.log(k / expected) - (k - expected)
        out.append(ErrorEpisode(service, head, stamps[first], stamps[-1], k, expected, surprise))
    return out


def onset_from_logs(logs: ErrorLogs, *, start: float) -> tuple[float, str] | None:
    """Return when the most surprising episode of new error lines since `start`, still running, began.

    Code faults (an exception, a failing call) often move no metric, but the code that fails starts
    writing error lines it never wrote before. The strongest episode is taken, not the earliest: a
    site that erred a few times must not drag the onset back. None if no episode qualifies.
    """
    end = logs.until
    episodes = error_episodes(logs, start=start, end=end, reach=end)
    if not episodes:
        return None
    best = max(episodes, key=lambda e: (e.surprise, -e.start))
    return best.start, (
        f"new error lines of {best.service} ({best.lines}, where {best.expected:.1f} stray ones "
        "were allowed) and no metric unrest before them"
    )
