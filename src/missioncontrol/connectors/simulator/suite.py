"""The demo incident and a deterministic suite of simulated incidents served as a CaseSource."""

import hashlib
from collections.abc import Iterable, Iterator, Sequence

from missioncontrol.connectors.simulator.estate import Estate, ServiceKind, generate_estate
from missioncontrol.connectors.simulator.faults import SUPPORTED_FAULTS, eligible_culprits
from missioncontrol.connectors.simulator.incident import simulate_incident
from missioncontrol.connectors.simulator.timeline import streams
from missioncontrol.domain import FaultKind, LabeledCase, ServiceId, TimeMode

DEMO_SERVICES = 24


DEMO_SEED = 7


def demo_estate(seed: int = DEMO_SEED) -> Estate:
    """Return the demo's estate: its services, call graph and owners (`estate_catalog` has its catalog)."""
    return generate_estate(DEMO_SERVICES, seed=seed)


def demo_case(seed: int = DEMO_SEED, *, time_mode: TimeMode = TimeMode.GIVEN) -> LabeledCase:
    """Return the demo: errors in a backend two or three hops below an entry point, and a decoy deploy.

    The estate has 24 services. The failing backend's errors climb through its callers to an entry
    point, which pages; a harmless deploy lands minutes earlier on a service on that path.
    """
    estate = demo_estate(seed)
    hops = estate.hops_from_entry()
    # Prefer a database three hops down: the path then holds an intermediate service to blame wrongly.
    preferences = [
        (depth, kinds)
        for depth in (3, 2)
        for kinds in ({ServiceKind.DB}, {ServiceKind.CACHE, ServiceKind.QUEUE})
    ]
    candidates = [s for s in estate.services if hops.get(s, 0) >= 1]
    for depth, kinds in preferences:
        fitting = [s for s in estate.services if hops.get(s) == depth and estate.profiles[s].kind in kinds]
        if fitting:
            candidates = fitting
            break
    culprit = streams(seed, "demo").choice(candidates)
    return simulate_incident(
        estate,
        fault=FaultKind.ERRORS,
        culprit=culprit,
        seed=seed,
        red_herring_deploy=True,
        time_mode=time_mode,
    )


class SimulatorSource:
    """Simulated incidents as a CaseSource: each fault kind on culprits at several depths, plus controls.

    For every estate seed it builds one estate of `n_services`, then for each fault kind picks
    `culprits_per_fault` culprits spread from shallow to deep, and adds `controls` no-fault cases.
    Case seeds are hashed, so neither the id nor the order within an id reveals the fault.
    """

    name = "simulator"

    def __init__(
        self,
        n_services: int = DEMO_SERVICES,
        *,
        seeds: Iterable[int] = range(3),
        faults: Sequence[FaultKind] = SUPPORTED_FAULTS,
        culprits_per_fault: int = 3,
        controls: int = 2,
        with_logs: bool = True,
        with_spans: bool = True,
    ) -> None:
        self.n_services = n_services
        self.seeds = tuple(seeds)
        self.faults = tuple(faults)
        self.culprits_per_fault = culprits_per_fault
        self.controls = controls
        self.with_logs = with_logs
        self.with_spans = with_spans

    def cases(self, *, time_mode: TimeMode) -> Iterator[LabeledCase]:
        """Yield every case of the suite in a stable order."""
        for estate_seed in self.seeds:
            estate = generate_estate(self.n_services, seed=estate_seed)
            for fault, culprit, index in self.plan(estate):
                label = fault.value if fault is not None else "none"
                yield simulate_incident(
                    estate,
                    fault=fault,
                    culprit=culprit,
                    seed=case_seed(estate_seed, label, index),
                    with_logs=self.with_logs,
                    with_spans=self.with_spans,
                    time_mode=time_mode,
                )

    def plan(self, estate: Estate) -> list[tuple[FaultKind | None, ServiceId | None, int]]:
        """Return (fault, culprit, index) for every case on `estate`."""
        plan: list[tuple[FaultKind | None, ServiceId | None, int]] = []
        for fault in self.faults:
            for index, culprit in enumerate(culprits_by_depth(estate, fault, self.culprits_per_fault)):
                plan.append((fault, culprit, index))
        plan.extend((None, None, index) for index in range(self.controls))
        return plan


def culprits_by_depth(estate: Estate, fault: FaultKind, count: int) -> list[ServiceId]:
    """Return up to `count` distinct culprits for `fault`, spread from shallow to deep."""
    hops = estate.hops_from_entry()
    eligible = sorted(eligible_culprits(estate, fault), key=lambda s: (hops.get(s, 0), s))
    if not eligible:
        return []
    rng = streams(estate.seed, f"culprits/{fault.value}")
    chosen: list[ServiceId] = []
    for k in range(min(count, len(eligible))):
        # Split the depth-sorted candidates into `count` bands and draw one culprit from each.
        band = eligible[k * len(eligible) // count : (k + 1) * len(eligible) // count]
        fresh = [s for s in band if s not in chosen]
        if fresh:
            chosen.append(rng.choice(fresh))
    return chosen


def case_seed(estate_seed: int, label: str, index: int) -> int:
    """Return an opaque, stable incident seed for one case of the suite."""
    digest = hashlib.sha256(f"{estate_seed}/{label}/{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big")
