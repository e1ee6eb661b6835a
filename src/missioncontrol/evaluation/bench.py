"""Run diagnosis methods side by side on one dataset's cases and report accuracy, time and memory."""

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import psutil  # type: ignore[import-untyped, unused-ignore]  # no types-psutil in dev extras yet

from missioncontrol.domain import Diagnosis, LabeledCase, ServiceId, TimeMode
from missioncontrol.evaluation.scoring import CaseResult, MethodScore, rank_of, summarise
from missioncontrol.ports import Diagnoser

RSS_INTERVAL_S: Final = 0.02
DIGITS: Final = 4  # rounding of every float in the JSON report
MEBIBYTE: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class CaseRun:
    """One method's answer on one case, for the per-case detail output."""

    case_id: str
    method: str
    fault: str | None  # the truth's fault label; None for a control case
    rank: int | None  # 1-based rank of the true service; None when missed or a control
    seconds: float
    top: ServiceId | None  # the method's prime suspect
    confidence: float  # of the prime suspect; 0 when there is none

    def to_json(self) -> dict[str, Any]:
        """Return this run as a JSON-ready dict."""
        return {
            "case_id": self.case_id,
            "method": self.method,
            "fault": self.fault,
            "rank": self.rank,
            "seconds": round(self.seconds, DIGITS),
            "top": self.top,
            "confidence": round(self.confidence, DIGITS),
        }


@dataclass(frozen=True, slots=True)
class MethodReport:
    """A method's scores over the labelled cases and its peak memory over every case."""

    score: MethodScore
    peak_rss_mb: float  # the whole process's RSS, case data included: see `run_bench`


@dataclass(frozen=True, slots=True)
class BenchReport:
    """The outcome of one benchmark run: every method on the same cases, in the same time mode."""

    dataset: str
    time_mode: TimeMode
    cases: int  # labelled cases, the denominator of every accuracy
    controls: int  # cases without a fault: run and timed, never scored
    methods: Mapping[str, MethodReport]  # in the order the methods were given
    runs: tuple[CaseRun, ...]  # per case and method, in run order

    def to_json(self) -> dict[str, Any]:
        """Return the summary as a JSON-ready dict, floats rounded to 4 places."""
        return {
            "dataset": self.dataset,
            "time": self.time_mode.value,
            "cases": self.cases,
            "methods": {name: _method_json(report) for name, report in self.methods.items()},
        }

    def runs_to_json(self) -> list[dict[str, Any]]:
        """Return the per-case detail (case, method, rank, seconds, top suspect, confidence)."""
        return [run.to_json() for run in self.runs]


def _method_json(report: MethodReport) -> dict[str, Any]:
    score = report.score
    return {
        "ac1": round(score.ac1, DIGITS),
        "ac3": round(score.ac3, DIGITS),
        "avg5": round(score.avg5, DIGITS),
        "mrr": round(score.mrr, DIGITS),
        "median_s": round(score.median_s, DIGITS),
        "p95_s": round(score.p95_s, DIGITS),
        "peak_rss_mb": round(report.peak_rss_mb, DIGITS),
        "ece": round(score.ece, DIGITS),
        "by_fault": {
            fault: {
                "ac1": round(f.ac1, DIGITS),
                "ac3": round(f.ac3, DIGITS),
                "avg5": round(f.avg5, DIGITS),
                "mrr": round(f.mrr, DIGITS),
                "n": f.n,
            }
            for fault, f in score.by_fault.items()
        },
    }


class _PeakRss:
    """Sample this process's RSS on a background thread while a block runs, keeping the maximum."""

    def __init__(self, interval_s: float = RSS_INTERVAL_S) -> None:
        self._process = psutil.Process()
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-rss", daemon=True)
        self.peak_bytes = 0

    def __enter__(self) -> "_PeakRss":
        # Sampling at both ends too catches calls shorter than one interval.
        self.peak_bytes = self._rss()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._rss())

    def _sample(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.peak_bytes = max(self.peak_bytes, self._rss())

    def _rss(self) -> int:
        return int(self._process.memory_info().rss)


def _top(diagnosis: Diagnosis) -> tuple[ServiceId | None, float]:
    if not diagnosis.hypotheses:
        return None, 0.0
    best = diagnosis.hypotheses[0].service
    return best, diagnosis.confidence_in(best)


def run_bench(
    dataset: str,
    time_mode: TimeMode,
    cases: Iterable[LabeledCase],
    methods: Sequence[Diagnoser],
    *,
    on_case: Callable[[int], None] | None = None,
) -> BenchReport:
    """Run every method on every case, once each, and score them side by side.

    `cases` is iterated once and no case is kept after its turn, so a large dataset streams. Each
    `diagnose` call is timed with `time.perf_counter`. Cases without a truth are controls: every method
    runs on them (their answers appear in `runs`) but they count in no score, timing percentile
    included. `peak_rss_mb` is the largest resident set size of the *whole process* sampled every
    ~20 ms while that method's `diagnose` ran; it includes the loaded case, the interpreter and
    whatever else the process holds, so compare methods by it, not against a standalone tool.
    `on_case` is called with the number of cases done after each one.

    Raises ValueError if two methods share a name, or if a case in `TimeMode.FOUND` hands over its
    fault start (that would leak the truth the found mode withholds).
    """
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ValueError(f"methods must have distinct names, got {names}")
    results: dict[str, list[CaseResult]] = {name: [] for name in names}
    peaks = dict.fromkeys(names, 0)
    runs: list[CaseRun] = []
    labelled = controls = 0
    for done, labeled in enumerate(cases, start=1):
        case, truth = labeled.case, labeled.truth
        if time_mode is TimeMode.FOUND and case.known_onset_at is not None:
            raise ValueError(
                f"case {case.id!r} hands over its fault start in found mode; its source leaks it"
            )
        if truth is None:
            controls += 1
        else:
            labelled += 1
        for method in methods:
            with _PeakRss() as rss:
                start = time.perf_counter()
                try:
                    diagnosis = method.diagnose(case)
                except Exception as error:
                    error.add_note(f"while {method.name!r} diagnosed case {case.id!r} of {dataset!r}")
                    raise
                seconds = time.perf_counter() - start
            peaks[method.name] = max(peaks[method.name], rss.peak_bytes)
            top, confidence = _top(diagnosis)
            rank = rank_of(diagnosis, truth) if truth is not None else None
            runs.append(
                CaseRun(
                    case_id=case.id,
                    method=method.name,
                    fault=truth.fault if truth is not None else None,
                    rank=rank,
                    seconds=seconds,
                    top=top,
                    confidence=confidence,
                )
            )
            if truth is not None:
                results[method.name].append(
                    CaseResult(
                        case_id=case.id,
                        fault=truth.fault,
                        kind=truth.kind,
                        rank=rank,
                        confidence=confidence,
                        seconds=seconds,
                    )
                )
        if on_case is not None:
            on_case(done)
    return BenchReport(
        dataset=dataset,
        time_mode=time_mode,
        cases=labelled,
        controls=controls,
        methods={
            name: MethodReport(score=summarise(results[name]), peak_rss_mb=peaks[name] / MEBIBYTE)
            for name in names
        },
        runs=tuple(runs),
    )
