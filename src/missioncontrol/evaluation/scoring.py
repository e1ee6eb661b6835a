"""Score ranked diagnoses against the truth: AC@k, Avg@5, MRR, time and calibration. Pure."""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from missioncontrol.domain import Diagnosis, FaultKind, Truth

CALIBRATION_BINS = 10


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One method's outcome on one labelled case."""

    case_id: str
    fault: str  # the truth's own fault label, e.g. "cpu_contention"
    kind: FaultKind
    rank: int | None  # 1-based rank of the true service; None when the method did not name it
    confidence: float  # the top hypothesis's confidence; 0 when there is none
    seconds: float  # wall time of the `diagnose` call


@dataclass(frozen=True, slots=True)
class FaultScore:
    """Accuracy on the cases of one fault label."""

    ac1: float
    ac3: float
    avg5: float
    mrr: float
    n: int


@dataclass(frozen=True, slots=True)
class MethodScore:
    """A method's accuracy, speed and calibration over a set of cases."""

    ac1: float
    ac3: float
    avg5: float  # mean of AC@1 … AC@5
    mrr: float  # mean reciprocal rank; a missed case counts 0
    median_s: float
    p95_s: float
    ece: float  # expected calibration error of the top-1 confidence
    n: int
    by_fault: Mapping[str, FaultScore]


def rank_of(diagnosis: Diagnosis, truth: Truth) -> int | None:
    """Return the 1-based rank of the true service among the diagnosis's suspects, or None."""
    try:
        return diagnosis.ranked_services.index(truth.service) + 1
    except ValueError:
        return None


def accuracy_at(results: Sequence[CaseResult], k: int) -> float:
    """Return AC@k: the share of cases whose true service is ranked k-th or better (0 for no cases)."""
    if not results:
        return 0.0
    return sum(r.rank is not None and r.rank <= k for r in results) / len(results)


def average_accuracy(results: Sequence[CaseResult], k: int = 5) -> float:
    """Return Avg@k: the mean of AC@1 … AC@k (0 for no cases)."""
    if not results:
        return 0.0
    # A case ranked r ≤ k counts in k − r + 1 of the k accuracies. One integer division keeps the
    # result exactly rounded, so it never strays outside [AC@1, AC@k] by a rounding error.
    hits = sum(k - r.rank + 1 for r in results if r.rank is not None and r.rank <= k)
    return hits / (k * len(results))


def mean_reciprocal_rank(results: Sequence[CaseResult]) -> float:
    """Return the mean of 1/rank, counting a missed case as 0 (0 for no cases)."""
    if not results:
        return 0.0
    # fsum is exactly rounded, so the score does not depend on the order of the cases.
    return math.fsum(1.0 / r.rank for r in results if r.rank is not None) / len(results)


def calibration_error(results: Sequence[CaseResult], *, bins: int = CALIBRATION_BINS) -> float:
    """Return the expected calibration error of top-1 confidence against top-1 being right.

    Confidences (clipped to [0, 1]) fall into `bins` equal-width bins; each bin adds
    |mean confidence − share right| weighted by its share of the cases.
    """
    if not results:
        return 0.0
    confidence = np.clip(np.array([r.confidence for r in results], dtype=np.float64), 0.0, 1.0)
    is_right = np.array([r.rank == 1 for r in results], dtype=np.float64)
    # A confidence of exactly 1 belongs in the top bin, not in a bin of its own.
    which = np.minimum((confidence * bins).astype(np.intp), bins - 1)
    counts = np.bincount(which, minlength=bins)
    gap = np.abs(
        np.bincount(which, weights=confidence, minlength=bins)
        - np.bincount(which, weights=is_right, minlength=bins)
    )
    # Each bin's |sum conf − sum right| / n equals its |mean gap| × (count / n).
    error = float(gap[counts > 0].sum() / len(results))
    return min(max(error, 0.0), 1.0)


def summarise(results: Sequence[CaseResult]) -> MethodScore:
    """Return one method's scores over `results`, overall and per fault label."""
    seconds = np.array([r.seconds for r in results], dtype=np.float64)
    faults: dict[str, list[CaseResult]] = {}
    for r in results:
        faults.setdefault(r.fault, []).append(r)
    return MethodScore(
        ac1=accuracy_at(results, 1),
        ac3=accuracy_at(results, 3),
        avg5=average_accuracy(results),
        mrr=mean_reciprocal_rank(results),
        median_s=float(np.median(seconds)) if len(seconds) else 0.0,
        p95_s=float(np.percentile(seconds, 95)) if len(seconds) else 0.0,
        ece=calibration_error(results),
        n=len(results),
        by_fault={
            fault: FaultScore(
                ac1=accuracy_at(group, 1),
                ac3=accuracy_at(group, 3),
                avg5=average_accuracy(group),
                mrr=mean_reciprocal_rank(group),
                n=len(group),
            )
            for fault, group in sorted(faults.items())
        },
    )
