"""Tests for scoring: unit cases and properties of AC@k, Avg@5, MRR and calibration error."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from missioncontrol.domain import Diagnosis, FaultKind, Hypothesis, ServiceId, Truth
from missioncontrol.evaluation.scoring import (
    CaseResult,
    accuracy_at,
    calibration_error,
    rank_of,
    summarise,
)

AT = datetime(2024, 1, 1, tzinfo=UTC)
FAULTS = ("cpu", "mem", "delay")


def result(
    rank: int | None,
    *,
    confidence: float = 0.5,
    seconds: float = 0.01,
    fault: str = "cpu",
    case_id: str = "c",
) -> CaseResult:
    return CaseResult(
        case_id=case_id,
        fault=fault,
        kind=FaultKind.UNKNOWN,
        rank=rank,
        confidence=confidence,
        seconds=seconds,
    )


results_strategy = st.lists(
    st.builds(
        result,
        st.one_of(st.none(), st.integers(1, 8)),
        confidence=st.floats(0.0, 1.0),
        seconds=st.floats(0.0, 10.0),
        fault=st.sampled_from(FAULTS),
    ),
    min_size=1,
    max_size=40,
)


def diagnosis_of(*services: str) -> Diagnosis:
    return Diagnosis(
        case_id="c",
        method="m",
        symptom=None,
        onset_at=None,
        window=(AT, AT),
        hypotheses=tuple(
            Hypothesis(ServiceId(s), FaultKind.UNKNOWN, "", 1.0, 0.1, (ServiceId(s),), ()) for s in services
        ),
    )


def test_rank_of_counts_each_service_once() -> None:
    truth = Truth(ServiceId("db"), "cpu", FaultKind.CPU, AT)

    assert rank_of(diagnosis_of("api", "api", "db"), truth) == 2
    assert rank_of(diagnosis_of("api"), truth) is None
    assert rank_of(diagnosis_of(), truth) is None


def test_summary_of_known_ranks() -> None:
    results = [
        result(1, fault="cpu", seconds=1.0),
        result(2, fault="cpu", seconds=2.0),
        result(4, fault="mem", seconds=3.0),
        result(None, fault="mem", seconds=4.0),
    ]

    score = summarise(results)

    assert (score.ac1, score.ac3) == (0.25, 0.5)
    assert score.avg5 == pytest.approx((0.25 + 0.5 + 0.5 + 0.75 + 0.75) / 5)
    assert score.mrr == pytest.approx((1 + 1 / 2 + 1 / 4) / 4)
    assert score.median_s == 2.5
    assert score.p95_s == pytest.approx(3.85)
    assert score.n == 4
    assert list(score.by_fault) == ["cpu", "mem"]
    assert (score.by_fault["cpu"].ac1, score.by_fault["cpu"].ac3, score.by_fault["cpu"].n) == (0.5, 1.0, 2)
    assert score.by_fault["mem"].mrr == pytest.approx(1 / 8)


def test_empty_results_score_zero() -> None:
    score = summarise([])

    assert (score.ac1, score.avg5, score.mrr, score.median_s, score.ece, score.n) == (0, 0, 0, 0, 0, 0)
    assert score.by_fault == {}


def test_calibration_error_of_an_overconfident_method() -> None:
    # Always 90 % sure, right half the time: off by 0.4.
    results = [result(1, confidence=0.9), result(2, confidence=0.9)]

    assert calibration_error(results) == pytest.approx(0.4)


def test_calibration_error_weighs_bins_by_their_cases() -> None:
    results = [result(1, confidence=1.0)] * 3 + [result(None, confidence=0.05)]

    # Top bin: perfect. Bottom bin: 0.05 off, with a quarter of the cases.
    assert calibration_error(results) == pytest.approx(0.05 / 4)


@given(results_strategy)
def test_accuracy_is_monotone_in_k(results: list[CaseResult]) -> None:
    accuracies = [accuracy_at(results, k) for k in range(1, 9)]

    assert accuracies == sorted(accuracies)
    assert all(0.0 <= a <= 1.0 for a in accuracies)


@given(results_strategy)
def test_summary_bounds(results: list[CaseResult]) -> None:
    score = summarise(results)

    assert score.ac1 <= score.avg5 <= accuracy_at(results, 5)
    assert score.ac1 <= score.mrr <= 1.0
    assert 0.0 <= score.ece <= 1.0
    assert score.median_s <= score.p95_s
    assert sum(f.n for f in score.by_fault.values()) == score.n == len(results)


@given(results_strategy)
def test_summary_ignores_case_order(results: list[CaseResult]) -> None:
    forward, backward = summarise(results), summarise(results[::-1])

    assert (forward.ac1, forward.ac3, forward.n, forward.by_fault) == (
        backward.ac1,
        backward.ac3,
        backward.n,
        backward.by_fault,
    )
    assert forward.mrr == pytest.approx(backward.mrr)
    assert forward.ece == pytest.approx(backward.ece)


@given(st.lists(st.sampled_from(FAULTS), min_size=1, max_size=30))
def test_a_perfect_confident_ranker_scores_one_everywhere(faults: list[str]) -> None:
    score = summarise([result(1, confidence=1.0, fault=f) for f in faults])

    assert (score.ac1, score.ac3, score.avg5, score.mrr, score.ece) == (1.0, 1.0, 1.0, 1.0, 0.0)
    assert all((f.ac1, f.ac3, f.avg5, f.mrr) == (1.0, 1.0, 1.0, 1.0) for f in score.by_fault.values())


@given(st.integers(1, 10), st.integers(0, 10))
def test_a_calibrated_constant_confidence_has_no_calibration_error(right: int, wrong: int) -> None:
    share = right / (right + wrong)
    results = [result(1, confidence=share)] * right + [result(3, confidence=share)] * wrong

    assert calibration_error(results) == pytest.approx(0.0, abs=1e-12)


@given(results_strategy)
def test_a_method_that_never_names_the_truth_scores_zero(results: list[CaseResult]) -> None:
    missed = [result(None, confidence=r.confidence, fault=r.fault) for r in results]

    score = summarise(missed)

    assert (score.ac1, score.ac3, score.avg5, score.mrr) == (0.0, 0.0, 0.0, 0.0)
    assert score.ece == pytest.approx(sum(r.confidence for r in missed) / len(missed))
