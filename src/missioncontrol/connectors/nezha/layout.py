"""Find the Nezha days, the system each belongs to, and their fault-free reference days, from the layout.

    <root>/nezha/
      rca_data/<day>/<day>-fault_list.json     faults injected that day
      rca_data/<day>/{metric,log,trace}/       telemetry of that day
      construct_data/<day>/{metric,log,trace}/ fault-free periods (baselines)
      construct_data/root_cause_<x>.json       each system's services (keys)

No day is named in code: a day belongs to the system whose root-cause file names most of its
services (the injected ones for a fault day, the pods of `metric/` for a construct day).
"""

import functools
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from missioncontrol.connectors.nezha.mapping import Injection, service_of_pod, to_injections
from missioncontrol.domain import CaseFormatError


@dataclass(frozen=True, slots=True)
class System:
    """One system of the dataset and the root-cause file that lists its services."""

    key: str  # "tt", as in the dataset name "nezha-tt"
    slug: str  # Case.system
    title: str
    services_file: str


SYSTEMS: Mapping[str, System] = {
    "tt": System("tt", "train-ticket", "Train Ticket", "root_cause_ts.json"),
    "ob": System("ob", "online-boutique", "Online Boutique", "root_cause_hipster.json"),
}


@dataclass(frozen=True, slots=True)
class Day:
    """One day of fault injections and where its fault-free reference telemetry is."""

    name: str  # the folder name, e.g. "2023-01-29"
    folder: Path  # rca_data/<day>
    system: str  # a key of SYSTEMS
    injections: tuple[Injection, ...]  # by inject time
    reference: Path | None  # a construct_data/<day> folder with logs or traces, if any


def nezha_folder(root: Path) -> Path:
    """Return `<root>/nezha`, the folder the Nezha layout lives in."""
    return root / "nezha"


@functools.lru_cache(maxsize=4)
def find_days(folder: Path) -> tuple[Day, ...]:
    """Return every fault day under `folder` (the nezha folder), sorted by name, with its system."""
    rca = folder / "rca_data"
    construct = folder / "construct_data"
    if not rca.is_dir() or not construct.is_dir():
        raise CaseFormatError(
            str(folder), "not found: expected the Nezha layout (rca_data/, construct_data/)"
        )
    services = {key: _system_services(construct / system.services_file) for key, system in SYSTEMS.items()}
    references = _reference_days(construct, services)
    days = []
    for day_folder in sorted(p for p in rca.iterdir() if p.is_dir()):
        fault_list = day_folder / f"{day_folder.name}-fault_list.json"
        if not fault_list.is_file():
            continue
        injections = to_injections(_read_json(fault_list), path=str(fault_list))
        system = classify((i.service for i in injections), services)
        if system is None:
            continue
        days.append(
            Day(
                name=day_folder.name,
                folder=day_folder,
                system=system,
                injections=injections,
                reference=_pick_reference(day_folder.name, system, references),
            )
        )
    return tuple(days)


def classify(services: Iterable[str], systems: Mapping[str, frozenset[str]]) -> str | None:
    """Return the system whose service list names most of `services`, or None if none or a tie."""
    votes: Counter[str] = Counter()
    for service in services:
        for key, names in systems.items():
            if service in names:
                votes[key] += 1
    ranked = votes.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def has_events(folder: Path) -> bool:
    """Return True if `folder` holds at least one log or trace file."""
    return any(_csv_files(folder / "log")) or any(_csv_files(folder / "trace"))


def minute_files(folder: Path) -> list[Path]:
    """Return the `.csv` / `.csv.gz` files of `folder`, sorted by name; an absent folder has none."""
    return sorted(_csv_files(folder))


def pod_of_metric_file(path: Path) -> str | None:
    """Return the pod of a `<pod>_metric.csv[.gz]` file name, or None for another file."""
    stem = path.name.removesuffix(".gz").removesuffix(".csv")
    pod = stem.removesuffix("_metric")
    return pod if pod != stem and pod else None


def _csv_files(folder: Path) -> Iterable[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.is_file() and p.name.endswith((".csv", ".csv.gz"))]


def _system_services(path: Path) -> frozenset[str]:
    document = _read_json(path)
    if not isinstance(document, dict):
        raise CaseFormatError(str(path), "expected a JSON object keyed by service")
    return frozenset(document)


def _reference_days(construct: Path, services: Mapping[str, frozenset[str]]) -> list[tuple[str, str, Path]]:
    """Return (name, system, folder) of every construct day that has logs or traces, sorted by name."""
    found = []
    for folder in sorted(p for p in construct.iterdir() if p.is_dir()):
        if not has_events(folder):
            continue
        pods = (pod_of_metric_file(p) for p in minute_files(folder / "metric"))
        system = classify((service_of_pod(p) for p in pods if p), services)
        if system is not None:
            found.append((folder.name, system, folder))
    return found


def _pick_reference(day: str, system: str, references: list[tuple[str, str, Path]]) -> Path | None:
    """Return the same day's construct folder if it has data, else the first of the same system."""
    same_system = [(name, folder) for name, sys_key, folder in references if sys_key == system]
    for name, folder in same_system:
        if name == day:
            return folder
    return same_system[0][1] if same_system else None


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CaseFormatError(
            str(path), f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except OSError as error:
        raise CaseFormatError(str(path), f"cannot be read: {error}") from None
