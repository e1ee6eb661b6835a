"""The learning replay: one fixed sequence, diagnosed once, scored without and with the knowledge bank."""

from dataclasses import replace
from itertools import islice
from pathlib import Path

import pytest

from missioncontrol import bootstrap
from missioncontrol.domain import Case, Diagnosis, LabeledCase, TimeMode
from missioncontrol.evaluation.learn import replay, sequence_of
from missioncontrol.settings import Settings


@pytest.fixture(scope="module")
def simulated() -> list[tuple[str, LabeledCase]]:
    source = bootstrap.open_source("simulated", Settings())
    return [("simulated", c) for c in islice(source.cases(time_mode=TimeMode.FOUND), 10)]


class _Recording:
    """Wraps the real engine and keeps what it was shown."""

    name = "missioncontrol"

    def __init__(self) -> None:
        self.engine = bootstrap.build_engine(Settings(workers=1))
        self.seen: list[Case] = []

    def diagnose(self, case: Case) -> Diagnosis:
        self.seen.append(case)
        return self.engine.diagnose(case)


def test_the_sequence_is_a_fixed_shuffle(simulated: list[tuple[str, LabeledCase]]) -> None:
    ids = [c.case.id for _, c in sequence_of(simulated, seed=7)]
    assert ids == [c.case.id for _, c in sequence_of(simulated, seed=7)]
    assert ids != [c.case.id for _, c in simulated if c.truth is not None]
    assert sorted(ids) == sorted(c.case.id for _, c in simulated if c.truth is not None)


def test_replay_diagnoses_each_case_once_and_resolves_it_into_the_bank(
    simulated: list[tuple[str, LabeledCase]], tmp_path: Path
) -> None:
    bank = bootstrap.open_knowledge_bank(f"sqlite:///{tmp_path / 'k.db'}")
    alerts = {c.case.id: (c.case.alert,) for _, c in simulated if c.case.alert}
    enricher = bootstrap.build_knowledge_enricher(bank, alerts_of=lambda i: alerts.get(i, ()))
    diagnoser = _Recording()
    report = replay(simulated, time_mode=TimeMode.FOUND, diagnoser=diagnoser, enricher=enricher, bank=bank)
    labelled = [c for _, c in simulated if c.truth is not None]
    assert len(report.steps) == len(labelled) == len(diagnoser.seen)
    assert all(isinstance(c, Case) for c in diagnoser.seen)  # a Case never holds the truth
    knowledge = bank.knowledge()
    assert len(knowledge.resolved) == len(labelled)
    assert {p.resolution.cause_service for p in knowledge.past if p.resolution} == {
        c.truth.service for c in labelled if c.truth
    }
    first = report.steps[0]
    assert first.is_new_cause and not first.has_same_cause_past and first.rank_with == first.rank_without
    summary = report.summary()
    assert summary["overall"]["n"] == len(labelled)
    assert summary["never_seen_cause"]["n"] + summary["seen_cause"]["n"] == len(labelled)
    recurring = [s for s in report.steps if s.has_same_cause_past]
    assert summary["same_cause_in_top3"]["n"] == len(recurring)


def test_found_mode_refuses_a_case_that_hands_over_its_fault_start(
    simulated: list[tuple[str, LabeledCase]], tmp_path: Path
) -> None:
    name, labeled = simulated[0]
    assert labeled.truth is not None
    leaky = replace(labeled, case=replace(labeled.case, known_onset_at=labeled.truth.started_at))
    bank = bootstrap.open_knowledge_bank(f"sqlite:///{tmp_path / 'k.db'}")
    with pytest.raises(ValueError, match="hands over its fault start"):
        replay(
            [(name, leaky)],
            time_mode=TimeMode.FOUND,
            diagnoser=_Recording(),
            enricher=bootstrap.build_knowledge_enricher(bank),
            bank=bank,
        )
