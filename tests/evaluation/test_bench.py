"""Tests for the bench runner, with test-double methods on tiny cases."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from missioncontrol.domain import (
    Case,
    Diagnosis,
    FaultKind,
    Hypothesis,
    LabeledCase,
    MetricSeries,
    ServiceId,
    Telemetry,
    TimeMode,
    Truth,
)
from missioncontrol.evaluation.bench import run_bench
from missioncontrol.ports import Diagnoser

AT = datetime(2024, 1, 1, tzinfo=UTC)
SERVICES = tuple(ServiceId(s) for s in ("a", "b", "c", "d"))
TRUTHS = {"case-1": ("a", "cpu"), "case-2": ("b", "cpu"), "case-3": ("c", "mem")}


def labelled_cases(*, with_control: bool = False) -> Iterator[LabeledCase]:
    """Yield three tiny labelled cases (and a control), each at most once."""
    series = tuple(MetricSeries(s, "cpu", (0.0, 60.0), (1.0, 2.0)) for s in SERVICES)
    for case_id, (service, fault) in TRUTHS.items():
        case = Case(id=case_id, system="tiny", telemetry=Telemetry(metrics=series))
        yield LabeledCase(case, Truth(ServiceId(service), fault, FaultKind.UNKNOWN, AT))
    if with_control:
        yield LabeledCase(Case(id="control", system="tiny", telemetry=Telemetry(metrics=series)))


def diagnosis_of(case: Case, method: str, ranked: list[ServiceId]) -> Diagnosis:
    return Diagnosis(
        case_id=case.id,
        method=method,
        symptom=None,
        onset_at=None,
        window=(AT, AT),
        hypotheses=tuple(
            Hypothesis(s, FaultKind.UNKNOWN, "test double", 1.0 / (i + 1), 0.8 if i == 0 else 0.1, (s,), ())
            for i, s in enumerate(ranked)
        ),
    )


class Oracle:
    """A method test double that peeks at the truth table, so it is always right."""

    name = "oracle"

    def diagnose(self, case: Case) -> Diagnosis:
        if case.id not in TRUTHS:
            return diagnosis_of(case, self.name, [])
        truth = ServiceId(TRUTHS[case.id][0])
        return diagnosis_of(case, self.name, [truth, *(s for s in SERVICES if s != truth)])


class Reversed:
    """A method test double that ranks services in reverse name order: d, c, b, a."""

    name = "reversed"

    def diagnose(self, case: Case) -> Diagnosis:
        return diagnosis_of(case, self.name, sorted(SERVICES, reverse=True))


class Broken:
    name = "broken"

    def diagnose(self, case: Case) -> Diagnosis:
        raise RuntimeError("boom")


METHODS: tuple[Diagnoser, ...] = (Oracle(), Reversed())


def test_oracle_is_always_right() -> None:
    report = run_bench("tiny", TimeMode.GIVEN, labelled_cases(), METHODS)

    oracle = report.methods["oracle"].score
    assert (oracle.ac1, oracle.ac3, oracle.avg5, oracle.mrr, oracle.n) == (1.0, 1.0, 1.0, 1.0, 3)
    assert report.cases == 3


def test_reversed_ranker_gets_the_expected_ranks() -> None:
    report = run_bench("tiny", TimeMode.GIVEN, labelled_cases(), METHODS)

    ranks = {run.case_id: run.rank for run in report.runs if run.method == "reversed"}
    assert ranks == {"case-1": 4, "case-2": 3, "case-3": 2}
    score = report.methods["reversed"].score
    assert score.ac1 == 0.0
    assert score.ac3 == pytest.approx(2 / 3)
    assert score.mrr == pytest.approx((1 / 4 + 1 / 3 + 1 / 2) / 3)
    assert score.by_fault["mem"].ac1 == 0.0 and score.by_fault["mem"].ac3 == 1.0


def test_controls_run_but_are_not_scored() -> None:
    report = run_bench("tiny", TimeMode.GIVEN, labelled_cases(with_control=True), METHODS)

    assert (report.cases, report.controls) == (3, 1)
    assert report.methods["oracle"].score.n == 3
    control_runs = [run for run in report.runs if run.case_id == "control"]
    assert [(run.method, run.rank, run.fault) for run in control_runs] == [
        ("oracle", None, None),
        ("reversed", None, None),
    ]


def test_cases_are_iterated_once_and_progress_is_reported() -> None:
    seen: list[int] = []
    cases = labelled_cases(with_control=True)  # a generator: a second pass would find nothing

    report = run_bench("tiny", TimeMode.GIVEN, cases, METHODS, on_case=seen.append)

    assert seen == [1, 2, 3, 4]
    assert len(report.runs) == 4 * len(METHODS)


def test_time_and_memory_are_measured() -> None:
    report = run_bench("tiny", TimeMode.GIVEN, labelled_cases(), METHODS)

    for method in report.methods.values():
        assert 0.0 < method.score.median_s <= method.score.p95_s < 1.0
        assert method.peak_rss_mb > 1.0
    assert all(run.seconds > 0.0 for run in report.runs)


def test_to_json_has_exactly_the_published_shape() -> None:
    report = run_bench("tiny", TimeMode.FOUND, labelled_cases(), METHODS)

    summary = report.to_json()

    assert json.loads(json.dumps(summary)) == summary
    assert list(summary) == ["dataset", "time", "cases", "methods"]
    assert (summary["dataset"], summary["time"], summary["cases"]) == ("tiny", "found", 3)
    assert list(summary["methods"]) == ["oracle", "reversed"]
    for method in summary["methods"].values():
        assert list(method) == [
            "ac1",
            "ac3",
            "avg5",
            "mrr",
            "median_s",
            "p95_s",
            "peak_rss_mb",
            "ece",
            "by_fault",
        ]
        assert all(isinstance(method[key], float) for key in list(method)[:-1])
        assert list(method["by_fault"]) == ["cpu", "mem"]
        for fault in method["by_fault"].values():
            assert list(fault) == ["ac1", "ac3", "avg5", "mrr", "n"]
            assert isinstance(fault["n"], int)
    reversed_ = summary["methods"]["reversed"]
    assert reversed_["ac3"] == 0.6667
    assert reversed_["mrr"] == round((1 / 4 + 1 / 3 + 1 / 2) / 3, 4)
    assert reversed_["ece"] == 0.8


def test_per_case_detail_names_the_top_suspect() -> None:
    report = run_bench("tiny", TimeMode.GIVEN, labelled_cases(), METHODS)

    rows = report.runs_to_json()

    assert rows[0] == {
        "case_id": "case-1",
        "method": "oracle",
        "fault": "cpu",
        "rank": 1,
        "seconds": rows[0]["seconds"],
        "top": "a",
        "confidence": 0.8,
    }
    assert [row["top"] for row in rows if row["method"] == "reversed"] == ["d", "d", "d"]


def test_duplicate_method_names_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct names"):
        run_bench("tiny", TimeMode.GIVEN, labelled_cases(), (Oracle(), Oracle()))


def test_found_mode_refuses_a_case_that_leaks_its_onset() -> None:
    leaky = Case(id="leaky", system="tiny", telemetry=Telemetry(), known_onset_at=AT)
    cases = [LabeledCase(leaky, Truth(ServiceId("a"), "cpu", FaultKind.CPU, AT))]

    with pytest.raises(ValueError, match="found mode"):
        run_bench("tiny", TimeMode.FOUND, cases, METHODS)


def test_a_failing_method_names_the_case() -> None:
    with pytest.raises(RuntimeError, match="boom") as raised:
        run_bench("tiny", TimeMode.GIVEN, labelled_cases(), (Broken(),))

    assert "'broken' diagnosed case 'case-1'" in "".join(raised.value.__notes__)


def test_empty_dataset_gives_an_empty_report() -> None:
    report = run_bench("none", TimeMode.GIVEN, [], METHODS)

    assert report.to_json()["cases"] == 0
    assert report.to_json()["methods"]["oracle"]["ac1"] == 0.0
