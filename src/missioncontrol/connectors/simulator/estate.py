"""Generate a plausible microservice estate: entry points, tiers of business services, shared backends.

The call graph is layered, so it is a DAG by construction: entry points (tier 0) call the first
business tier, each business tier calls deeper tiers and backends, and backends (the last tier) call
nothing. Every service gets a first caller from the tier above it before any other edge is drawn, so
entry points reach everything. A few hubs (auth, users-db, events-queue ...) attract many callers.
"""

import math
import random
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from missioncontrol.connectors.simulator import names
from missioncontrol.domain import ServiceGraph, ServiceId

MAX_FANOUT = 4
# A parent adopts at most three services while the graph is spanned, so one call slot is always
# left for a backend: every backend then finds a first caller.
ADOPT_LIMIT = 3
MIN_SERVICES = 4


class ServiceKind(StrEnum):
    API = "api"
    DB = "db"
    CACHE = "cache"
    QUEUE = "queue"


@dataclass(frozen=True, slots=True)
class ServiceProfile:
    """What a service is, who owns it, and how it behaves when healthy."""

    team: str
    tier: int  # 0 for entry points, growing with depth; backends sit in the last tier
    kind: ServiceKind
    domain: str
    is_hub: bool
    latency_ms: float  # healthy p50
    p90_ratio: float  # healthy p90 / p50
    p99_ratio: float  # healthy p99 / p90
    request_rate: float  # healthy requests per second
    cpu: float  # healthy fraction of the CPU limit
    memory: float  # healthy fraction of the memory limit
    error_rate: float  # healthy fraction of failed requests
    network_ms: float  # healthy network latency p90 towards the service
    has_success_rate: bool  # some exporters publish success_rate next to error_rate


@dataclass(frozen=True, slots=True)
class Estate:
    """A simulated estate: the call graph, its entry points and every service's profile."""

    seed: int
    graph: ServiceGraph
    entry_points: tuple[ServiceId, ...]
    profiles: Mapping[ServiceId, ServiceProfile]
    # Fraction of the caller's requests that call the callee, per edge (caller, callee).
    call_share: Mapping[tuple[ServiceId, ServiceId], float] = field(default_factory=dict)

    @property
    def services(self) -> tuple[ServiceId, ...]:
        """Return every service, sorted."""
        return tuple(sorted(self.profiles))

    @property
    def teams(self) -> dict[ServiceId, str]:
        """Return the owning team of every service."""
        return {s: p.team for s, p in self.profiles.items()}

    def share(self, caller: ServiceId, callee: ServiceId) -> float:
        """Return the fraction of `caller`'s requests that call `callee`."""
        return self.call_share.get((caller, callee), 1.0)

    def hops_from_entry(self) -> dict[ServiceId, int]:
        """Return every service's shortest call distance from the nearest entry point."""
        hops = dict.fromkeys(self.entry_points, 0)
        queue = deque(self.entry_points)
        while queue:
            node = queue.popleft()
            for callee in self.graph.callees(node):
                if callee not in hops:
                    hops[callee] = hops[node] + 1
                    queue.append(callee)
        return hops


@dataclass(slots=True)
class _Draft:
    name: ServiceId
    kind: ServiceKind
    tier: int
    domain: str
    team: str
    is_hub: bool = False
    callees: list[ServiceId] = field(default_factory=list)


def generate_estate(n_services: int, *, seed: int) -> Estate:
    """Return a deterministic estate of `n_services` services for `seed`."""
    if n_services < MIN_SERVICES:
        raise ValueError(f"an estate needs at least {MIN_SERVICES} services, got {n_services}")
    rng = random.Random(seed)
    taken = names.UniqueNames()
    n_entry = max(1, round(math.sqrt(n_services) / 2))
    n_backend = max(1, round(n_services * 0.3))
    n_business = n_services - n_entry - n_backend
    n_hubs = 0 if n_services < 10 else max(1, round(math.sqrt(n_services) / 5))

    entries = [
        _Draft(
            ServiceId(taken.take(_cycled(names.ENTRY_NAMES, i))), ServiceKind.API, 0, "edge", names.ENTRY_TEAM
        )
        for i in range(n_entry)
    ]
    tiers = _business_tiers(_tier_sizes(n_business, n_entry), n_hubs, rng, taken)
    backend_tier = len(tiers) + 1
    domains = sorted({d.domain for tier in tiers for d in tier if not d.is_hub})
    backends = _backends(n_backend, n_hubs, domains, backend_tier, rng, taken)

    _span(entries, tiers, backends, rng)
    _add_calls(entries, tiers, backends, rng)
    drafts = [*entries, *(d for tier in tiers for d in tier), *backends]
    hubs = {d.name for d in drafts if d.is_hub}
    # Shared services (auth, sessions) sit on nearly every request of their callers.
    share = {
        (d.name, c): round(rng.uniform(0.85, 1.0) if c in hubs else rng.uniform(0.5, 1.0), 3)
        for d in drafts
        for c in d.callees
    }
    profiles = _profiles(drafts, share, rng)
    graph = ServiceGraph(
        edges=frozenset((d.name, c) for d in drafts for c in d.callees),
        extra_services=frozenset(d.name for d in drafts),
    )
    return Estate(
        seed=seed,
        graph=graph,
        entry_points=tuple(sorted(e.name for e in entries)),
        profiles=profiles,
        call_share=share,
    )


def _cycled(pool: Sequence[str], i: int) -> str:
    return pool[i % len(pool)]


def _tier_sizes(n_business: int, n_entry: int) -> list[int]:
    """Split business services into tiers growing ~1.5× per level, each at most 3× the one above."""
    levels = min(5, max(2, round(math.log(n_business + n_entry, 4) + 0.3)))
    weights = [1.5**k for k in range(levels)]
    wanted = [max(1, round(n_business * w / sum(weights))) for w in weights]
    sizes: list[int] = []
    remaining, above = n_business, n_entry
    for want in wanted:
        if remaining == 0:
            break
        size = min(remaining, max(1, want), ADOPT_LIMIT * above)
        sizes.append(size)
        remaining -= size
        above = size
    while remaining:  # the capacity cap pushed services down: open further tiers for them
        size = min(remaining, ADOPT_LIMIT * above)
        sizes.append(size)
        remaining -= size
        above = size
    return sizes


def _business_tiers(
    sizes: list[int], n_hubs: int, rng: random.Random, taken: names.UniqueNames
) -> list[list[_Draft]]:
    tiers: list[list[_Draft]] = []
    for level, size in enumerate(sizes, start=1):
        pool = list(names.FRONT_DOMAINS if level == 1 else names.CORE_DOMAINS)
        rng.shuffle(pool)
        tier: list[_Draft] = []
        # Hubs live in the deepest tier so that every tier above may call them.
        hubs = min(n_hubs, size) if level == len(sizes) else 0
        for i in range(hubs):
            hub, team = names.BUSINESS_HUBS[i % len(names.BUSINESS_HUBS)]
            tier.append(_Draft(ServiceId(taken.take(hub)), ServiceKind.API, level, hub, team, is_hub=True))
        for i in range(size - hubs):
            domain = pool[i % len(pool)]
            suffix = rng.choice(names.BUSINESS_SUFFIXES)
            name = ServiceId(taken.take(domain + suffix))
            tier.append(_Draft(name, ServiceKind.API, level, domain, names.team_of(domain)))
        tiers.append(tier)
    return tiers


def _backends(
    count: int,
    n_hubs: int,
    domains: list[str],
    tier: int,
    rng: random.Random,
    taken: names.UniqueNames,
) -> list[_Draft]:
    backends: list[_Draft] = []
    for i in range(min(n_hubs, count)):
        hub, kind, team = names.BACKEND_HUBS[i % len(names.BACKEND_HUBS)]
        name = ServiceId(taken.take(hub))
        backends.append(_Draft(name, ServiceKind(kind), tier, team, team, is_hub=True))  # domain: its team
    kinds = (ServiceKind.DB, ServiceKind.CACHE, ServiceKind.QUEUE)
    for _ in range(count - len(backends)):
        domain = rng.choice(domains) if domains else "shared"
        kind = rng.choices(kinds, weights=(0.5, 0.3, 0.2))[0]
        name = ServiceId(taken.take(f"{domain}-{kind.value}"))
        backends.append(_Draft(name, kind, tier, domain, names.team_of(domain)))
    return backends


def _span(
    entries: list[_Draft], tiers: list[list[_Draft]], backends: list[_Draft], rng: random.Random
) -> None:
    """Give every non-entry service a first caller, so that entry points reach everything."""
    above = entries
    for tier in tiers:
        parents = above[:]
        rng.shuffle(parents)
        slots = [p for _ in range(ADOPT_LIMIT) for p in parents]  # round robin: all once before twice
        for child, parent in zip(tier, slots, strict=False):
            parent.callees.append(child.name)
        above = tier
    business = [d for tier in tiers for d in tier]
    by_domain: dict[str, list[_Draft]] = {}
    for d in business:
        by_domain.setdefault(d.domain, []).append(d)
    for backend in backends:
        same = [d for d in by_domain.get(backend.domain, []) if len(d.callees) < MAX_FANOUT]
        caller = rng.choice(same) if same and rng.random() < 0.8 else _with_room(business, rng)
        caller.callees.append(backend.name)


def _with_room(candidates: list[_Draft], rng: random.Random) -> _Draft:
    for _ in range(64):
        pick = rng.choice(candidates)
        if len(pick.callees) < MAX_FANOUT:
            return pick
    return next(d for d in candidates if len(d.callees) < MAX_FANOUT)


def _add_calls(
    entries: list[_Draft], tiers: list[list[_Draft]], backends: list[_Draft], rng: random.Random
) -> None:
    """Add calls up to each service's fan-out (1–4), preferring hubs and its own domain's backends."""
    backend_hubs = [b.name for b in backends if b.is_hub]
    cache_hubs = [b.name for b in backends if b.is_hub and b.kind is ServiceKind.CACHE]
    business_hubs = [d.name for d in tiers[-1] if d.is_hub]
    own_backends: dict[str, list[ServiceId]] = {}
    for b in backends:
        own_backends.setdefault(b.domain, []).append(b.name)
    all_backends = [b.name for b in backends]
    first_tier = [d.name for d in tiers[0]]
    # Gateways call the first tier, and now and then a shared service directly (auth, sessions).
    edge_hubs = [h for h in business_hubs if h not in first_tier] + cache_hubs
    for entry in entries:
        _fill(entry, rng.choice((2, 3, 4)), rng, [([], 0.0), (edge_hubs, 0.3)], first_tier)
    for level, tier in enumerate(tiers):
        deeper = {d.name for t in tiers[level + 1 :] for d in t}
        next_tier = [d.name for d in tiers[level + 1]] if level + 1 < len(tiers) else []
        hubs = [h for h in business_hubs if h in deeper] + backend_hubs
        for draft in tier:
            target = rng.choices((1, 2, 3, 4), weights=(0.2, 0.35, 0.3, 0.15))[0]
            general = next_tier if next_tier and rng.random() < 0.4 else all_backends
            preferred = [(own_backends.get(draft.domain, []), 0.35), (hubs, 0.25)]
            _fill(draft, target, rng, preferred, general)


def _fill(
    draft: _Draft,
    target: int,
    rng: random.Random,
    preferred: list[tuple[list[ServiceId], float]],
    general: list[ServiceId],
) -> None:
    """Draw callees until `target`: each pool in `preferred` with its probability, else `general`."""
    for _ in range(12):
        if len(draft.callees) >= target:
            return
        r = rng.random()
        pool = general
        for candidates, probability in preferred:
            if r < probability and candidates:
                pool = candidates
                break
            r -= probability
        pick = rng.choice(pool) if pool else None
        if pick is not None and pick not in draft.callees:
            draft.callees.append(pick)


_BASE_LATENCY = {  # healthy p50 range in ms, by kind
    ServiceKind.API: (8.0, 60.0),
    ServiceKind.DB: (1.0, 10.0),
    ServiceKind.CACHE: (0.3, 2.0),
    ServiceKind.QUEUE: (1.0, 6.0),
}


def _profiles(
    drafts: list[_Draft], share: Mapping[tuple[ServiceId, ServiceId], float], rng: random.Random
) -> dict[ServiceId, ServiceProfile]:
    # Traffic flows down the tiers: a callee serves the sum of what its callers send it.
    rate: dict[ServiceId, float] = {}
    for d in sorted(drafts, key=lambda d: d.tier):
        if d.tier == 0:
            rate[d.name] = rng.uniform(100.0, 1500.0)
        for c in d.callees:
            rate[c] = rate.get(c, 0.0) + rate.get(d.name, 0.0) * share[(d.name, c)]
    profiles: dict[ServiceId, ServiceProfile] = {}
    for d in drafts:
        lo, hi = (40.0, 120.0) if d.tier == 0 else _BASE_LATENCY[d.kind]
        profiles[d.name] = ServiceProfile(
            team=d.team,
            tier=d.tier,
            kind=d.kind,
            domain=d.domain,
            is_hub=d.is_hub,
            latency_ms=round(math.exp(rng.uniform(math.log(lo), math.log(hi))), 3),
            p90_ratio=round(rng.uniform(1.5, 2.2), 3),
            p99_ratio=round(rng.uniform(1.4, 2.4), 3),
            request_rate=round(max(rate.get(d.name, 1.0), 1.0), 3),
            cpu=round(rng.uniform(0.1, 0.5), 3),
            memory=round(rng.uniform(0.3, 0.65), 3),
            error_rate=round(rng.uniform(0.0005, 0.004), 5),
            network_ms=round(rng.uniform(0.3, 2.5), 3),
            has_success_rate=d.kind is ServiceKind.API and rng.random() < 0.5,
        )
    return dict(sorted(profiles.items()))
