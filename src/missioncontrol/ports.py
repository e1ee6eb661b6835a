"""Ports: the capabilities the engine and the drivers need, each a Protocol with one job."""

from collections.abc import Iterator
from typing import Protocol

from missioncontrol.domain import Case, Diagnosis, LabeledCase, TimeMode


class Diagnoser(Protocol):
    """Something that turns a case into a ranked diagnosis: our engine, or a baseline method.

    Example::

        diagnosis = engine.diagnose(case)
        diagnosis.hypotheses[0].service   # the prime suspect
    """

    name: str

    def diagnose(self, case: Case) -> Diagnosis:
        """Return a diagnosis of `case`. Must be deterministic and never read the truth."""
        ...


class CaseSource(Protocol):
    """Somewhere past incidents come from: a case folder, a public dataset, the simulator.

    With `TimeMode.GIVEN` the fault start is handed to the engine in `Case.known_onset_at`; with
    `TimeMode.FOUND` the engine gets only the alert, or nothing, and finds the onset itself, and the
    case's time window is anchored on the alert (or chosen without the truth), never on the fault start.
    """

    name: str

    def cases(self, *, time_mode: TimeMode) -> Iterator[LabeledCase]:
        """Yield labelled cases in a stable order."""
        ...
