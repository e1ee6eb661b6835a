"""Does the knowledge bank help? Replay labelled cases as one sequence of incidents, learning as we go.

Each case in turn, in a fixed shuffled order: the engine diagnoses it (seeing only the case, never its
truth); the knowledge bank's enricher re-ranks that diagnosis with what earlier resolutions taught and
lists similar past incidents; then the incident is resolved with its truth, as an operator would, and
the bank records it. Every diagnosis is made once and scored twice (without and with the bank), so the
difference is the bank's alone. Scores through ports only: a `Diagnoser`, a `BriefEnricher` and a
`KnowledgeBank`.
"""

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from missioncontrol.domain import Brief, Diagnosis, FaultKind, IncidentId, LabeledCase, ServiceId, TimeMode
from missioncontrol.domain.knowledge import Resolution
from missioncontrol.ports import BriefEnricher, Diagnoser, KnowledgeBank

DIGITS: Final = 4
RESOLVER: Final = "bench --learn"


@dataclass(frozen=True, slots=True)
class LearnStep:
    """One incident of the replayed sequence."""

    position: int  # 1-based place in the sequence
    dataset: str
    case_id: str
    cause: tuple[ServiceId, FaultKind]
    is_new_cause: bool  # no earlier incident of the sequence had this (service, fault kind)
    rank_without: int | None  # 1-based rank of the true service; None when not named
    rank_with: int | None
    has_same_cause_past: bool  # an earlier incident had the same cause
    same_cause_in_top3: bool  # … and one appeared among the three similar incidents shown
    enrich_s: float

    def to_json(self) -> dict[str, Any]:
        """Return the step as a JSON-ready dict."""
        return {
            "position": self.position,
            "dataset": self.dataset,
            "case_id": self.case_id,
            "cause_service": self.cause[0],
            "cause_fault": self.cause[1].value,
            "is_new_cause": self.is_new_cause,
            "rank_without": self.rank_without,
            "rank_with": self.rank_with,
            "has_same_cause_past": self.has_same_cause_past,
            "same_cause_in_top3": self.same_cause_in_top3,
            "enrich_s": round(self.enrich_s, DIGITS),
        }


def _ac(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def _mrr(ranks: Sequence[int | None]) -> float:
    return sum(1.0 / r for r in ranks if r is not None) / len(ranks) if ranks else 0.0


def _side_by_side(steps: Sequence[LearnStep]) -> dict[str, Any]:
    without = [s.rank_without for s in steps]
    with_ = [s.rank_with for s in steps]
    return {
        "n": len(steps),
        "ac1_without": round(_ac(without, 1), DIGITS),
        "ac1_with": round(_ac(with_, 1), DIGITS),
        "ac3_without": round(_ac(without, 3), DIGITS),
        "ac3_with": round(_ac(with_, 3), DIGITS),
        "mrr_without": round(_mrr(without), DIGITS),
        "mrr_with": round(_mrr(with_), DIGITS),
    }


@dataclass(frozen=True, slots=True)
class LearnReport:
    """The replayed sequence and its scores without and with the knowledge bank."""

    time_mode: TimeMode
    seed: int
    steps: tuple[LearnStep, ...]

    def summary(self) -> dict[str, Any]:
        """Return the side-by-side scores as a JSON-ready dict."""
        steps = self.steps
        recurring = [s for s in steps if s.has_same_cause_past]
        hits = sum(1 for s in recurring if s.same_cause_in_top3)
        datasets = list(dict.fromkeys(s.dataset for s in steps))
        return {
            "time": self.time_mode.value,
            "seed": self.seed,
            "overall": _side_by_side(steps),
            "never_seen_cause": _side_by_side([s for s in steps if s.is_new_cause]),
            "seen_cause": _side_by_side([s for s in steps if not s.is_new_cause]),
            "by_dataset": {d: _side_by_side([s for s in steps if s.dataset == d]) for d in datasets},
            "same_cause_in_top3": {
                "n": len(recurring),
                "hits": hits,
                "rate": round(hits / len(recurring), DIGITS) if recurring else None,
            },
            "helped": sum(1 for s in steps if s.rank_with == 1 and s.rank_without != 1),
            "hurt": sum(1 for s in steps if s.rank_without == 1 and s.rank_with != 1),
            "median_enrich_s": round(statistics.median(s.enrich_s for s in steps), DIGITS) if steps else 0.0,
        }


def _rank(diagnosis: Diagnosis, service: ServiceId) -> int | None:
    ranked = diagnosis.ranked_services
    return ranked.index(service) + 1 if service in ranked else None


def sequence_of(cases: Sequence[tuple[str, LabeledCase]], *, seed: int) -> list[tuple[str, LabeledCase]]:
    """Return the labelled cases in the fixed shuffled order `seed` gives (controls dropped)."""
    labelled = [(name, c) for name, c in cases if c.truth is not None]
    random.Random(seed).shuffle(labelled)
    return labelled


def replay(
    cases: Sequence[tuple[str, LabeledCase]],
    *,
    time_mode: TimeMode,
    diagnoser: Diagnoser,
    enricher: BriefEnricher,
    bank: KnowledgeBank,
    seed: int = 7,
    on_case: Callable[[int], None] | None = None,
) -> LearnReport:
    """Replay `cases` (dataset name, case) as one sequence, resolving each with its truth afterwards.

    `bank` must start empty, and `enricher` must be the bank's own (it remembers each incident's
    fingerprint, which `record_resolution` then completes). Raises ValueError when a case in found
    mode hands over its fault start.
    """
    steps: list[LearnStep] = []
    causes: set[tuple[ServiceId, FaultKind]] = set()
    for position, (dataset, labeled) in enumerate(sequence_of(cases, seed=seed), start=1):
        case, truth = labeled.case, labeled.truth
        assert truth is not None  # sequence_of keeps labelled cases only
        if time_mode is TimeMode.FOUND and case.known_onset_at is not None:
            raise ValueError(
                f"case {case.id!r} hands over its fault start in found mode; its source leaks it"
            )
        diagnosis = diagnoser.diagnose(case)  # the case only: the truth stays here
        brief = Brief(incident_id=IncidentId(case.id), generated_at=diagnosis.window[1], diagnosis=diagnosis)
        started = time.perf_counter()
        enriched = enricher.enrich(brief)
        enrich_s = time.perf_counter() - started
        cause = (truth.service, truth.kind)
        seen = cause in causes
        steps.append(
            LearnStep(
                position=position,
                dataset=dataset,
                case_id=case.id,
                cause=cause,
                is_new_cause=not seen,
                rank_without=_rank(diagnosis, truth.service),
                rank_with=_rank(enriched.diagnosis, truth.service),
                has_same_cause_past=seen,
                same_cause_in_top3=any(
                    (s.cause_service, s.cause_fault) == cause for s in enriched.similar[:3]
                ),
                enrich_s=enrich_s,
            )
        )
        bank.record_resolution(
            Resolution(
                incident_id=case.id,
                cause_service=truth.service,
                cause_fault=truth.kind,
                fix=f"stopped the injected {truth.fault} in {truth.service}",
                resolved_at=diagnosis.window[1] + timedelta(hours=1),
                resolved_by=RESOLVER,
                notes=f"{dataset}: truth from the dataset's fault list",
            )
        )
        causes.add(cause)
        if on_case is not None:
            on_case(position)
    return LearnReport(time_mode=time_mode, seed=seed, steps=tuple(steps))
