"""Tests for deciding when the incident began: near the alert, from the data alone, and the window."""

import numpy as np
import pytest

from missioncontrol.domain import LogRecord, ServiceId
from missioncontrol.engine.metrics import Grid
from missioncontrol.engine.onset import (
    ErrorLogs,
    OnsetSource,
    Window,
    error_episodes,
    onset_before_alert,
    onset_from_data,
    onset_from_logs,
)

START = 1_700_000_000.0
STEP = 60.0
SAMPLES = 60
SERIES = 20
SEARCH_S = 600.0
LOOKBACK_S = 1800.0
DELAY_S = 180.0
ALERT_INDEX = 55
ALERT_AT = START + ALERT_INDEX * STEP


def noisy(seed: int, *, samples: int = SAMPLES) -> np.ndarray:
    """`SERIES` CPU series around 50 with unit noise, one per row."""
    return 50.0 + np.random.default_rng(seed).normal(0.0, 1.0, (SERIES, samples))


def grid_of(values: np.ndarray) -> Grid:
    return Grid(
        keys=tuple((ServiceId(f"s{i}"), "cpu_usage") for i in range(values.shape[0])),
        times=START + STEP * np.arange(values.shape[1], dtype=np.float64),
        values=values,
        step=STEP,
    )


def at(index: int) -> float:
    return START + index * STEP


def before_alert(
    values: np.ndarray, *, detection_delay_s: float = DELAY_S, errors: ErrorLogs | None = None
) -> tuple[float, str]:
    return onset_before_alert(
        grid_of(values),
        alert_at=ALERT_AT,
        search_s=SEARCH_S,
        lookback_s=LOOKBACK_S,
        detection_delay_s=detection_delay_s,
        errors=errors,
    )


# --- onset_before_alert ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("steps_before", [3, 5, 8])
def test_the_onset_is_the_start_of_the_run_that_reaches_the_alert(seed: int, steps_before: int) -> None:
    values = noisy(seed)
    values[:, ALERT_INDEX - steps_before :] += 15.0

    onset, why = before_alert(values)

    step_at = at(ALERT_INDEX - steps_before)
    assert step_at - STEP <= onset <= step_at
    assert onset <= ALERT_AT - DELAY_S
    assert "abnormal unrest" in why


@pytest.mark.parametrize("seed", range(3))
def test_a_step_closer_than_the_detection_delay_is_found_by_the_data(seed: int) -> None:
    values = noisy(seed)
    values[:, ALERT_INDEX - 3 :] += 15.0

    onset, _ = before_alert(values, detection_delay_s=60.0)

    assert onset == at(ALERT_INDEX - 3)


@pytest.mark.parametrize("seed", range(3))
def test_the_onset_is_never_later_than_the_detection_delay_before_the_alert(seed: int) -> None:
    values = noisy(seed)
    values[:, ALERT_INDEX - 1 :] += 15.0

    onset, _ = before_alert(values)

    assert onset == ALERT_AT - DELAY_S


@pytest.mark.parametrize("seed", range(3))
def test_an_earlier_separate_episode_is_not_this_incident(seed: int) -> None:
    values = noisy(seed)
    values[:, ALERT_INDEX - 9 : ALERT_INDEX - 7] += 15.0  # up and back down, 8 steps before the alert
    values[:, ALERT_INDEX - 3 :] += 15.0

    onset, why = before_alert(values, detection_delay_s=60.0)

    assert onset == at(ALERT_INDEX - 3)
    assert why.startswith("4 step(s)")  # three steps before the alert, and the alert's own


@pytest.mark.parametrize("seed", range(3))
def test_with_no_unrest_the_onset_reaches_back_by_the_detection_delay(seed: int) -> None:
    onset, why = before_alert(noisy(seed))

    assert onset == ALERT_AT - DELAY_S
    assert "no abnormal unrest" in why
    assert f"{DELAY_S:.0f} s before" in why


def test_flat_data_reaches_back_by_the_detection_delay() -> None:
    onset, why = before_alert(np.full((SERIES, SAMPLES), 50.0))

    assert onset == ALERT_AT - DELAY_S
    assert "no abnormal unrest" in why


def test_a_drop_in_cpu_is_not_unrest() -> None:
    values = noisy(0)
    values[:, ALERT_INDEX - 6 :] -= 15.0

    onset, _ = before_alert(values)

    assert onset == ALERT_AT - DELAY_S


def test_too_little_baseline_takes_the_alert_time() -> None:
    values = noisy(0, samples=14)

    onset, why = onset_before_alert(
        grid_of(values), alert_at=at(12), search_s=SEARCH_S, lookback_s=LOOKBACK_S
    )

    assert onset == at(12)
    assert "too little data" in why


# --- onset_from_data ------------------------------------------------------------------------------


def from_data(values: np.ndarray) -> tuple[float, str]:
    return onset_from_data(grid_of(values), search_s=SEARCH_S, lookback_s=LOOKBACK_S)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("changed", [SAMPLES - 9, SAMPLES - 6, SAMPLES - 3])
def test_a_shared_step_is_found_within_one_sample_and_never_before_it(seed: int, changed: int) -> None:
    values = noisy(seed)
    values[: SERIES // 2, changed:] += 10.0

    onset, why = from_data(values)

    assert at(changed) <= onset <= at(changed) + STEP
    assert "share a change point" in why


@pytest.mark.parametrize("seed", range(3))
def test_series_changing_a_step_apart_put_the_onset_at_one_of_their_changes(seed: int) -> None:
    changed = SAMPLES - 6
    values = noisy(seed)
    values[: SERIES // 2, changed + 1 :] += 10.0
    values[SERIES // 2 : SERIES // 2 + 3, changed:] += 10.0

    onset, _ = from_data(values)

    assert onset in (at(changed), at(changed + 1))


@pytest.mark.parametrize("seed", range(3))
def test_a_step_before_the_search_range_is_not_the_onset(seed: int) -> None:
    values = noisy(seed)
    values[:, SAMPLES - 20 :] += 10.0  # 20 minutes before the end; the search covers the last 10

    onset, _ = from_data(values)

    assert onset >= at(SAMPLES - 1) - SEARCH_S


def test_flat_data_has_no_change_point_and_takes_the_search_start() -> None:
    onset, why = from_data(np.full((SERIES, SAMPLES), 50.0))

    assert at(SAMPLES - 1) - SEARCH_S <= onset <= at(SAMPLES - 1) - SEARCH_S + STEP
    assert "no clear change point" in why


# --- Window ---------------------------------------------------------------------------------------


def test_began_at_is_the_estimate_when_there_is_one() -> None:
    window = Window(onset=100.0, end=700.0, source=OnsetSource.DATA, explanation="", estimate=160.0)

    assert window.began_at == 160.0


def test_began_at_is_the_onset_without_an_estimate() -> None:
    window = Window(onset=100.0, end=700.0, source=OnsetSource.ALERT, explanation="")

    assert window.began_at == 100.0


# --- onset from new error lines -------------------------------------------------------------------

BRIEF_AT = ALERT_AT + 120.0  # the brief is written two minutes after the alert
HEALTHY = "INFO c.s.OrderServiceImpl#88 [create][Order Create Success] order {i}"
FAILING = "ERROR c.s.ContactsServiceImpl#37 [findContactsById] No contacts according to id {i}"
NOISY = "ERROR c.s.RetryJob#12 [poll] upstream timeout, retry {i}"


def lines(service: str, message: str, start: float, stop: float, every: float) -> list[LogRecord]:
    """One line every `every` seconds in [start, stop), numbered so no two lines are identical."""
    count = int((stop - start) // every)
    return [
        LogRecord(
            timestamp=start + k * every,
            service=ServiceId(service),
            message=message.format(i=1000 + k),
            level=message.split()[0],
        )
        for k in range(count)
    ]


def healthy_traffic(start: float, stop: float) -> list[LogRecord]:
    return lines("orders", HEALTHY, start, stop, 2.0)


REFERENCE = healthy_traffic(START, START + 1200.0) + lines("jobs", NOISY, START, START + 1200.0, 20.0)


def errors_from(
    fault_at: float,
    *,
    stop: float = BRIEF_AT,
    service: str = "contacts",
    message: str = FAILING,
    every: float = 10.0,
) -> ErrorLogs:
    search_from = ALERT_AT - SEARCH_S
    observed = healthy_traffic(search_from, BRIEF_AT) + lines(service, message, fault_at, stop, every)
    return ErrorLogs(sorted(observed, key=lambda r: r.timestamp), REFERENCE, BRIEF_AT)


@pytest.mark.parametrize("seconds_before", [240.0, 300.0, 420.0])
def test_new_error_lines_set_the_onset_where_no_metric_moved(seconds_before: float) -> None:
    fault_at = ALERT_AT - seconds_before

    onset, why = before_alert(noisy(0), errors=errors_from(fault_at))

    assert onset == pytest.approx(fault_at)
    assert "new error lines of contacts" in why


def test_without_error_lines_the_onset_still_reaches_back_by_the_detection_delay() -> None:
    onset, _ = before_alert(noisy(0), errors=errors_from(ALERT_AT - 300.0, message=HEALTHY))

    assert onset == ALERT_AT - DELAY_S


def test_an_error_the_reference_also_writes_is_workload_noise_not_the_onset() -> None:
    onset, _ = before_alert(noisy(0), errors=errors_from(ALERT_AT - 300.0, service="jobs", message=NOISY))

    assert onset == ALERT_AT - DELAY_S


def test_errors_that_stopped_while_logs_went_on_are_an_earlier_episode() -> None:
    # The previous incident's errors: they ended four minutes before the alert, the estate logged on.
    errors = errors_from(ALERT_AT - 540.0, stop=ALERT_AT - 240.0)

    onset, _ = before_alert(noisy(0), errors=errors)

    assert onset == ALERT_AT - DELAY_S


def test_a_gap_in_the_log_export_does_not_end_an_episode() -> None:
    fault_at = ALERT_AT - 360.0
    full = errors_from(fault_at)
    gap = (ALERT_AT - 240.0, ALERT_AT - 60.0)  # three minutes with no line at all, of any service
    observed = [r for r in full.lines if not gap[0] <= r.timestamp < gap[1]]

    found = onset_from_logs(ErrorLogs(observed, REFERENCE, BRIEF_AT), start=ALERT_AT - SEARCH_S)

    assert found is not None
    assert found[0] == pytest.approx(fault_at)


def test_a_few_stray_errors_are_not_an_episode() -> None:
    errors = errors_from(ALERT_AT - 300.0, every=200.0)  # two lines in five minutes

    assert error_episodes(errors, start=ALERT_AT - SEARCH_S, end=BRIEF_AT, reach=BRIEF_AT) == []
    assert before_alert(noisy(0), errors=errors)[0] == ALERT_AT - DELAY_S


def test_metric_unrest_before_the_alert_outranks_error_lines() -> None:
    values = noisy(0)
    values[:, ALERT_INDEX - 5 :] += 15.0

    onset, why = before_alert(values, errors=errors_from(ALERT_AT - 480.0))

    assert onset == at(ALERT_INDEX - 5)
    assert "abnormal unrest" in why
