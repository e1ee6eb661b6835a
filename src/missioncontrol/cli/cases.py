"""Which recorded cases a command line names: a case folder, a dataset, `DATASET#N` or a case id.

One reading for every command that takes one (`investigate`, `replay`, `bench-e2e`), so a case
named one way in a brief or a bench report can be named the same way to any of them.
"""

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from missioncontrol import bootstrap
from missioncontrol.cli.errors import fail
from missioncontrol.domain import LabeledCase, MissionControlError, TimeMode
from missioncontrol.settings import Settings

HOW = "give a case folder (or cases:FOLDER), a dataset, DATASET#N (1-based, e.g. nezha-tt#3) or a case id"


def time_modes(value: str) -> list[TimeMode]:
    """Return the time modes `--time` names: given, found, or both (given first)."""
    if value == "both":
        return [TimeMode.GIVEN, TimeMode.FOUND]
    try:
        return [TimeMode(value)]
    except ValueError:
        raise fail(f"--time must be given, found or both, not {value!r}") from None


def named_cases(
    spec: str, settings: Settings, data: Path | None, mode: TimeMode, *, limit: int | None = None
) -> Iterator[LabeledCase]:
    """Yield the cases `spec` names, at most `limit` of them; raise if it names none.

    "nezha-ob#14" is the dataset's 14th case; "nezha-ob/2022-08-23/#14" is a case id, whose "#14" is
    not an index (read as one, it picked the 14th case of the dataset, on another day).
    """
    path = Path(spec.removeprefix("cases:"))
    if spec.startswith("cases:") or path.is_dir():
        yield from islice(bootstrap.open_source(f"cases:{path}", settings).cases(time_mode=mode), limit)
        return
    head, slash, _ = spec.partition("/")
    dataset, hash_, index = head.partition("#")
    if dataset not in bootstrap.DATASETS:
        known = ", ".join(bootstrap.DATASETS)
        raise MissionControlError(f"no case or dataset {spec!r}: {HOW}; datasets: {known}")
    if hash_ and not slash and not index.isdigit():
        raise MissionControlError(f"case number in {spec!r} must be a whole number from 1")
    cases = bootstrap.open_source(dataset, settings, data_root=data).cases(time_mode=mode)
    if not slash and not hash_:
        yield from islice(cases, limit)
        return
    for i, labeled in enumerate(cases, 1):
        if (not slash and i == int(index)) or labeled.case.id == spec:
            yield labeled
            return
    raise MissionControlError(f"no case {spec!r} in {dataset}: {HOW}")


def one_case(spec: str, settings: Settings, data: Path | None, mode: TimeMode) -> LabeledCase:
    """Return the one case `spec` names (a case folder's first); a whole dataset is an error."""
    if spec in bootstrap.DATASETS:
        raise MissionControlError(f"{spec!r} is a whole dataset: name one case, e.g. {spec}#1 or a case id")
    for labeled in named_cases(spec, settings, data, mode):
        return labeled
    raise MissionControlError(f"no case in {spec!r}: {HOW}")
