"""Tests for laying series on a grid and scoring each against its own pre-onset baseline."""

import numpy as np
import pytest

from missioncontrol.domain import MetricSeries, ServiceId
from missioncontrol.engine.metrics import SeriesScore, score_series, to_grid
from missioncontrol.engine.signals import Family

START = 1_700_000_000.0
STEP = 60.0
SAMPLES = 40
ONSET_INDEX = 30
ONSET = START + ONSET_INDEX * STEP
END = START + (SAMPLES - 1) * STEP
LOOKBACK_S = ONSET_INDEX * STEP


def series(
    service: str, metric: str, values: np.ndarray | list[float], *, start: float = START
) -> MetricSeries:
    return MetricSeries(
        service=ServiceId(service),
        metric=metric,
        timestamps=tuple(start + i * STEP for i in range(len(values))),
        values=tuple(float(v) for v in values),
    )


def noise(seed: int, *, level: float = 10.0, sigma: float = 1.0, n: int = SAMPLES) -> np.ndarray:
    return level + np.random.default_rng(seed).normal(0.0, sigma, n)


def score(*many: MetricSeries) -> dict[str, SeriesScore]:
    """Score the series with the onset at ONSET, keyed by service."""
    scores = score_series(to_grid(many), onset=ONSET, end=END, lookback_s=LOOKBACK_S)
    return {s.service: s for s in scores}


def jittered(seed: int, *, jitter_s: float, samples: int, count: int = 4) -> list[MetricSeries]:
    """Series whose i-th value is i, stamped every minute give or take `jitter_s`."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        stamps = START + STEP * np.arange(samples) + rng.uniform(-jitter_s, jitter_s, samples)
        out.append(
            MetricSeries(ServiceId(f"s{k}"), "cpu", tuple(stamps.tolist()), tuple(map(float, range(samples))))
        )
    return out


# --- to_grid --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_to_grid_aligns_jittered_series_on_one_grid(seed: int) -> None:
    grid = to_grid(jittered(seed, jitter_s=3.0, samples=SAMPLES))

    assert grid.values.shape == (4, SAMPLES)
    assert grid.step == pytest.approx(STEP, abs=1.0)
    for row in grid.values:
        np.testing.assert_array_equal(row, np.arange(SAMPLES, dtype=np.float64))
    np.testing.assert_allclose(np.diff(grid.times), grid.step)


def test_to_grid_aligns_three_hours_of_jittered_scrapes() -> None:
    grid = to_grid(jittered(0, jitter_s=5.0, samples=180))

    assert grid.values.shape == (4, 180)
    for row in grid.values:
        np.testing.assert_array_equal(row, np.arange(180, dtype=np.float64))


def test_to_grid_leaves_gaps_and_late_starters_as_nan() -> None:
    full = series("a", "cpu", list(range(10)))
    late = series("b", "cpu", [7.0, 8.0, 9.0], start=START + 5 * STEP)
    holey = MetricSeries(ServiceId("c"), "cpu", (START, START + 3 * STEP), (1.0, 2.0))

    grid = to_grid([full, late, holey, series("empty", "cpu", [])])

    assert grid.keys == (("a", "cpu"), ("b", "cpu"), ("c", "cpu"))
    assert grid.values.shape == (3, 10)
    np.testing.assert_array_equal(grid.values[1, 5:8], [7.0, 8.0, 9.0])
    assert np.isnan(grid.values[1, :5]).all() and np.isnan(grid.values[1, 8:]).all()
    assert np.isfinite(grid.values[2]).sum() == 2 and grid.values[2, 3] == 2.0


def test_to_grid_of_nothing_is_empty() -> None:
    grid = to_grid([])

    assert grid.keys == () and grid.values.shape == (0, 0)
    assert score_series(grid, onset=ONSET, end=END, lookback_s=LOOKBACK_S) == []


# --- score_series ---------------------------------------------------------------------------------


def test_a_step_up_after_the_onset_scores_high_and_flat_noise_near_zero() -> None:
    stepped = noise(1)
    stepped[ONSET_INDEX:] += 10.0

    scores = score(series("stepped", "cpu_usage", stepped), series("flat", "cpu_usage", noise(2)))

    assert scores["stepped"].strength > 6.0
    assert scores["stepped"].onset == ONSET
    assert scores["stepped"].family is Family.CPU
    assert scores["stepped"].observed - scores["stepped"].baseline == pytest.approx(10.0, abs=1.5)
    assert scores["flat"].strength < 1.5
    assert scores["flat"].onset is None


def test_a_single_spike_after_the_onset_is_not_held_strength() -> None:
    spiky = noise(3)
    spiky[ONSET_INDEX + 2] += 40.0
    held = noise(3)
    held[ONSET_INDEX + 2 :] += 40.0

    scores = score(series("spiky", "latency_p90", spiky), series("held", "latency_p90", held))

    assert scores["spiky"].strength < 3.0
    assert scores["spiky"].onset is None  # one sample is not a sustained breach
    assert scores["held"].strength > 10.0
    assert scores["held"].onset == ONSET + 2 * STEP


def test_a_change_still_going_at_the_window_end_is_held_however_late_it_began() -> None:
    # The brief is written while the incident unfolds: the fault may show in the newest sample only.
    late = noise(4)
    late[-1] += 40.0
    two_late = noise(4)
    two_late[-2:] += 40.0
    ended = noise(4)
    ended[-2] += 40.0  # a spike one sample before the end that did not last

    scores = score(
        series("late", "cpu_usage", late),
        series("two_late", "cpu_usage", two_late),
        series("ended", "cpu_usage", ended),
    )

    assert scores["late"].strength > 10.0
    assert scores["late"].onset == END  # the last sample may stand alone
    assert scores["two_late"].strength > 10.0
    assert scores["ended"].strength < 3.0


def test_a_level_the_baseline_already_reached_is_at_most_mild() -> None:
    # Every fifth baseline sample already sits at 20: the baseline's tail holds the new level.
    routine = noise(4, sigma=0.3)
    routine[:ONSET_INDEX:5] = 20.0
    routine[ONSET_INDEX:] = 20.0
    novel = noise(4, sigma=0.3)
    novel[ONSET_INDEX:] = 20.0

    scores = score(series("routine", "cpu_usage", routine), series("novel", "cpu_usage", novel))

    assert scores["routine"].strength <= 3.0 + 1e-9
    assert scores["novel"].strength > 3.0
    assert scores["novel"].strength > 2 * scores["routine"].strength


@pytest.mark.parametrize(
    ("metric", "change", "counts"),
    [
        ("SuccessRate(%)", -20.0, True),
        ("SuccessRate(%)", +20.0, False),
        ("error_rate", +20.0, True),
        ("error_rate", -20.0, False),
        ("request_rate", +20.0, True),  # traffic: either way is a change, however weak as evidence
        ("request_rate", -20.0, True),
    ],
)
def test_only_the_bad_direction_counts(metric: str, change: float, counts: bool) -> None:
    values = noise(5, level=40.0)
    values[ONSET_INDEX:] += change

    (scored,) = score(series("svc", metric, values)).values()

    if counts:
        assert scored.strength > 6.0
        assert scored.onset == ONSET
    else:
        assert scored.strength == 0.0
        assert scored.onset is None


def test_a_series_with_no_baseline_is_skipped_unless_a_reference_covers_it() -> None:
    newcomer = series("newcomer", "cpu_usage", noise(6, level=50.0, n=SAMPLES - ONSET_INDEX), start=ONSET)
    known = series("known", "cpu_usage", noise(7))
    grid = to_grid([newcomer, known])

    plain = score_series(grid, onset=ONSET, end=END, lookback_s=LOOKBACK_S)

    assert [s.service for s in plain] == ["known"]

    healthy = to_grid([series("newcomer", "cpu_usage", noise(8, level=20.0), start=START - 7200.0)])
    pooled = score_series(grid, onset=ONSET, end=END, lookback_s=LOOKBACK_S, reference=healthy)

    by_service = {str(s.service): s for s in pooled}
    assert set(by_service) == {"newcomer", "known"}
    # Its level (50) is far above the healthy reference (20): the reference made it comparable.
    assert by_service["newcomer"].baseline == pytest.approx(20.0, abs=1.0)
    assert by_service["newcomer"].strength > 10.0


def test_the_baseline_is_only_the_lookback_before_the_onset() -> None:
    # An old incident long before the lookback must not shape the baseline.
    values = noise(9)
    values[:10] += 30.0
    values[ONSET_INDEX:] += 30.0

    (scored,) = score_series(
        to_grid([series("svc", "cpu_usage", values)]), onset=ONSET, end=END, lookback_s=15 * STEP
    )

    assert scored.baseline == pytest.approx(10.0, abs=1.0)
    assert scored.strength > 10.0


def test_latest_tells_now_from_the_whole_window_when_the_change_came_late() -> None:
    late = noise(6, level=40.0)
    late[ONSET_INDEX + 6 :] = 0.0  # the last four of the window's ten samples
    steady = noise(7, level=40.0)

    scores = score(series("late", "syscall_read", late), series("steady", "syscall_read", steady))

    assert scores["late"].observed == pytest.approx(40.0, abs=3.0)  # the window's median: still healthy
    assert scores["late"].latest == 0.0  # its later half: stopped
    assert scores["steady"].latest == pytest.approx(40.0, abs=3.0)
