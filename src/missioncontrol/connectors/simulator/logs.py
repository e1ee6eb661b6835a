"""Log lines of a simulated incident: steady normal templates per service, then the fault's templates.

Every template has variable fields (ids, durations, addresses), so a template miner has to generalise
rather than count exact strings. Normal volume is a few lines per minute per service; above 100
services it thins out so that 500 services stay cheap.
"""

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from missioncontrol.connectors.simulator.estate import Estate, ServiceKind
from missioncontrol.connectors.simulator.faults import Signature
from missioncontrol.connectors.simulator.propagation import Impact
from missioncontrol.connectors.simulator.signals import inherited
from missioncontrol.connectors.simulator.timeline import Floats, Timeline, np_stream, streams
from missioncontrol.domain import FaultKind, LogRecord, ServiceId

Ints = npt.NDArray[np.int64]
Field = str | Callable[[random.Random], str]

# A semantic-check failure is logged for most wrong answers a caller receives; the rule that pages on
# them fires at this many lines in one minute.
SEMANTIC_LINES_PER_WRONG_SHARE = 80.0
SEMANTIC_RULE_PER_MINUTE = 3
MAX_FAULT_LINES_PER_MINUTE = 20.0


@dataclass(frozen=True, slots=True)
class Template:
    level: str
    text: str


def _t(level: str, text: str) -> Template:
    return Template(level, text)


NORMAL: dict[ServiceKind, tuple[Template, ...]] = {
    ServiceKind.API: (
        _t("INFO", "{method} /api/v1/{resource}/{id} completed status=200 in {ms} ms"),
        _t("INFO", "request_id={hex} user={user} handled by worker-{worker} in {ms} ms"),
        _t("INFO", "connection pool stats: active={small} idle={small} max=64"),
        _t("INFO", "health check ok, uptime={uptime}s"),
        _t("INFO", "cache lookup {resource}:{id} hit={bool}"),
        _t("INFO", "emitted event {cls}Updated id={id} version={small}"),
    ),
    ServiceKind.DB: (
        _t("INFO", "statement: SELECT * FROM {table} WHERE id = {id}; duration: {dbms} ms"),
        _t("INFO", "connection authorized: user={dbuser} database={database}"),
        _t("INFO", "checkpoint complete: wrote {n} buffers ({pct}%); write={secs} s"),
        _t("INFO", 'automatic vacuum of table "{database}.public.{table}": tuples: {n} removed'),
    ),
    ServiceKind.CACHE: (
        _t("INFO", "keyspace hits={n} misses={small} evicted_keys={small}"),
        _t("INFO", "accepted client connection from {ip}:{port}"),
        _t("INFO", "background saving started by pid {pid}"),
        _t("INFO", "DB saved on disk in {ms} ms"),
    ),
    ServiceKind.QUEUE: (
        _t("INFO", "produced {n} messages to topic {topic} partition {partition}"),
        _t("INFO", "consumer group {group} lag={small} on partition {partition}"),
        _t("INFO", "rolled new log segment for {topic}-{partition} at offset {offset}"),
    ),
}

SLOW = {
    ServiceKind.API: _t("WARN", "slow request {method} /api/v1/{resource}/{id} took {slow_ms} ms"),
    ServiceKind.DB: _t("WARN", "slow query took {slow_ms} ms: SELECT * FROM {table} WHERE id = {id}"),
    ServiceKind.CACHE: _t("WARN", "slowlog: command GET {resource}:{id} took {slow_ms} ms"),
    ServiceKind.QUEUE: _t("WARN", "produce request to {topic} took {slow_ms} ms"),
}

# Benign warnings every estate has; their presence before the fault is what makes them normal.
BENIGN_WARN: dict[ServiceKind, tuple[Template, ...]] = {
    ServiceKind.API: (
        _t("WARN", "retrying call to {callee} (attempt 1 of 3): connection reset by peer"),
        _t("WARN", "request_id={hex} rejected: expired token for user={user}"),
    ),
    ServiceKind.DB: (_t("WARN", "could not receive data from client: connection reset by peer"),),
    ServiceKind.CACHE: (_t("WARN", "evicting {n} keys under maxmemory policy allkeys-lru"),),
    ServiceKind.QUEUE: (_t("WARN", "consumer group {group} rebalancing: member consumer-{small} left"),),
}

OWN_FAULT: dict[FaultKind, dict[ServiceKind, Template]] = {
    FaultKind.CPU: {
        ServiceKind.API: _t(
            "WARN", "worker pool exhausted: {small} requests queued, oldest waited {slow_ms} ms"
        ),
        ServiceKind.DB: SLOW[ServiceKind.DB],
        ServiceKind.CACHE: SLOW[ServiceKind.CACHE],
        ServiceKind.QUEUE: _t("WARN", "request handler threads {pct}% busy; produce latency {slow_ms} ms"),
    },
    FaultKind.LATENCY: SLOW,
    FaultKind.MEMORY: {
        ServiceKind.API: _t(
            "WARN", "GC pause (G1 Evacuation Pause) {gc_ms} ms, heap {heap}M->{heap}M ({heapmax}M)"
        ),
        ServiceKind.DB: _t("WARN", "temporary file: path base/pgsql_tmp/pgsql_tmp{pid}.{small}, size {n}"),
        ServiceKind.CACHE: _t("WARN", "used_memory is {pct}% of maxmemory, evicting {n} keys"),
        ServiceKind.QUEUE: _t("WARN", "producer buffer pool exhausted: {n} bytes waiting for allocation"),
    },
    FaultKind.ERRORS: {
        ServiceKind.API: _t(
            "ERROR",
            'Exception in {cls}Handler.handle: java.lang.NullPointerException: Cannot invoke "{cls}.getId()" '
            'because "{var}" is null (request_id={hex}, {resource}_id={id})',
        ),
        ServiceKind.DB: _t(
            "ERROR",
            "deadlock detected: process {pid} waits for ShareLock on transaction {txn}; blocked by {pid}",
        ),
        ServiceKind.CACHE: _t(
            "ERROR",
            "OOM command not allowed when used memory > 'maxmemory' (client id={n}, cmd=SET {resource}:{id})",
        ),
        ServiceKind.QUEUE: _t(
            "ERROR",
            "failed to append to {topic}-{partition}: NOT_LEADER_OR_FOLLOWER "
            "(epoch {small}, offset {offset})",
        ),
    },
    FaultKind.BAD_CHANGE: dict.fromkeys(
        ServiceKind,
        _t(
            "ERROR",
            "Unhandled exception in {cls}Service.{verb}: KeyError: '{field}' "
            "(request_id={hex}, build {build})",
        ),
    ),
    FaultKind.WRONG_OUTPUT: {
        **dict.fromkeys(ServiceKind, _t("WARN", "checksum mismatch in {table} row {id}: expected {hex}")),
        ServiceKind.API: _t("WARN", "validation mismatch: {field}={bad} for item {item}"),
    },
}

UPSTREAM_FAILED = _t(
    "ERROR", "upstream call to {callee} failed: status={status} after {ms} ms (request_id={hex})"
)
UPSTREAM_TIMEOUT = _t(
    "WARN", "timeout connecting to {callee}:{port} after {timeout} ms, retrying (attempt {attempt})"
)
SEMANTIC_CHECK = _t(
    "WARN", "response from {callee} failed semantic check: {field}={bad} out of range (item {item})"
)
OOM_KILLED = _t("ERROR", "container killed: OOMKilled (limit {heapmax}Mi), restarting")
STARTING = _t("INFO", "starting {service} (pid {pid})")

FIELDS: dict[str, Callable[[random.Random], str]] = {
    "id": lambda r: str(r.randint(1000, 99999)),
    "item": lambda r: str(r.randint(1000, 99999)),
    "ms": lambda r: str(r.randint(2, 180)),
    "dbms": lambda r: f"{r.uniform(0.2, 12.0):.3f}",
    "slow_ms": lambda r: str(r.randint(800, 2500)),
    "gc_ms": lambda r: str(r.randint(150, 900)),
    "hex": lambda r: f"{r.getrandbits(64):016x}",
    "user": lambda r: f"u{r.randint(10000, 999999)}",
    "worker": lambda r: str(r.randint(1, 16)),
    "small": lambda r: str(r.randint(0, 12)),
    "n": lambda r: str(r.randint(10, 5000)),
    "pct": lambda r: str(r.randint(1, 99)),
    "secs": lambda r: f"{r.uniform(0.1, 3.0):.3f}",
    "uptime": lambda r: str(r.randint(3600, 900000)),
    "bool": lambda r: r.choice(("true", "false")),
    "method": lambda r: r.choice(("GET", "GET", "GET", "POST", "PUT")),
    "dbuser": lambda r: r.choice(("app", "app_ro", "replicator")),
    "ip": lambda r: f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
    "port": lambda r: str(r.randint(30000, 65000)),
    "pid": lambda r: str(r.randint(100, 65000)),
    "offset": lambda r: str(r.randint(10**6, 10**9)),
    "partition": lambda r: str(r.randint(0, 11)),
    "status": lambda r: r.choice(("500", "500", "502", "503")),
    "txn": lambda r: str(r.randint(10**6, 10**7)),
    "attempt": lambda r: str(r.randint(1, 3)),
    "timeout": lambda r: r.choice(("1000", "2000", "3000")),
    "heap": lambda r: str(r.randint(900, 2000)),
    "heapmax": lambda r: r.choice(("2048", "4096")),
    "bad": lambda r: r.choice(("-1", "0", "0.00", "NaN", "null")),
}

# The field a wrong answer gets wrong, by domain ("price=-1 for item 8812").
WRONG_FIELD = {"pricing": "price", "tax": "tax_amount", "currency": "rate", "inventory": "stock"}


class _Line(dict[str, str]):
    """Field values for one line: fixed ones first, the rest drawn fresh on demand."""

    def __init__(self, rng: random.Random, fixed: Mapping[str, Field]) -> None:
        super().__init__()
        self._rng = rng
        self._fixed = fixed

    def __missing__(self, key: str) -> str:
        if key in self._fixed:
            value = self._fixed[key]
            return value if isinstance(value, str) else value(self._rng)
        return FIELDS[key](self._rng)


def service_fields(estate: Estate, service: ServiceId) -> dict[str, Field]:
    """Return the fields that are fixed for one service: its resource, table, topic and so on."""
    profile = estate.profiles[service]
    domain = profile.domain.replace("-", "_")
    cls = "".join(part.capitalize() for part in profile.domain.split("-"))
    callees = estate.graph.callees(service)
    fields: dict[str, Field] = {
        "service": service,
        "resource": profile.domain,
        "table": f"{domain}s" if not domain.endswith("s") else domain,
        "database": domain,
        "topic": f"{profile.domain}.events",
        "group": f"{profile.domain}-consumers",
        "cls": cls,
        "var": cls[:1].lower() + cls[1:],
        "field": WRONG_FIELD.get(profile.domain, "amount"),
        "verb": "apply",
    }
    if callees:
        fields["callee"] = lambda r: r.choice(callees)
    return fields


def semantic_check_counts(
    estate: Estate, timeline: Timeline, culprit: ServiceId, signature: Signature
) -> dict[ServiceId, Ints]:
    """Return, per direct caller, how many semantic-check failures it logs in each sample window.

    Deterministic given the signature, so the log-rate alert and the log lines always agree.
    """
    wrong = timeline.window_means(signature.wrong)
    scale = timeline.step_s / 60.0
    counts: dict[ServiceId, Ints] = {}
    for caller in estate.graph.callers(culprit):
        expected = SEMANTIC_LINES_PER_WRONG_SHARE * estate.share(caller, culprit) * wrong * scale
        counts[caller] = np.rint(np.minimum(expected, MAX_FAULT_LINES_PER_MINUTE * scale)).astype(np.int64)
    return counts


def simulate_logs(
    estate: Estate,
    timeline: Timeline,
    seed: int,
    fault: tuple[ServiceId, Signature, Impact] | None,
) -> tuple[LogRecord, ...]:
    """Return every log line of the incident, sorted by time."""
    writer = _Writer(estate, timeline, seed)
    volume = min(1.0, (100.0 / len(estate.profiles)) ** 0.5)
    for service in estate.services:
        writer.normal(service, volume)
    if fault is not None:
        culprit, signature, impact = fault
        _fault_lines(writer, culprit, signature, impact)
    return tuple(sorted(writer.records, key=lambda r: (r.timestamp, r.service, r.message)))


class _Writer:
    """Render templates at given rates into log records; one seeded stream per incident."""

    def __init__(self, estate: Estate, timeline: Timeline, seed: int) -> None:
        self.estate = estate
        self.timeline = timeline
        self.rng = streams(seed, "logs")
        self.counts = np_stream(seed, "logs")
        self.records: list[LogRecord] = []
        self._fields: dict[ServiceId, dict[str, Field]] = {}

    def fields(self, service: ServiceId) -> dict[str, Field]:
        if service not in self._fields:
            self._fields[service] = service_fields(self.estate, service)
        return self._fields[service]

    def normal(self, service: ServiceId, volume: float) -> None:
        """Write a service's everyday lines: a few INFO templates and rare benign warnings."""
        profile = self.estate.profiles[service]
        # The repertoire is a property of the service, the same in every incident of this estate.
        habits = random.Random(f"missioncontrol-sim/{self.estate.seed}/habits/{service}")
        infos = habits.sample(NORMAL[profile.kind], k=min(len(NORMAL[profile.kind]), habits.randint(3, 5)))
        warns = [SLOW[profile.kind], *BENIGN_WARN[profile.kind]]
        if not self.estate.graph.callees(service):
            warns = [w for w in warns if "{callee}" not in w.text]
        for template in infos:
            self.at_rate(service, template, habits.uniform(1.0, 3.0) * volume)
        for template in warns:
            self.at_rate(service, template, habits.uniform(0.05, 0.3) * volume)

    def at_rate(
        self,
        service: ServiceId,
        template: Template,
        per_minute: float | Floats,
        fixed: Mapping[str, Field] | None = None,
    ) -> None:
        """Write Poisson-many lines per sample window at `per_minute` (a scalar or one per window)."""
        t = self.timeline
        per_window = t.step_s / 60.0
        expected = np.broadcast_to(np.asarray(per_minute, dtype=np.float64) * per_window, (t.n_samples,))
        # Loggers rate-limit a template that repeats, so no burst exceeds the cap.
        limit = int(MAX_FAULT_LINES_PER_MINUTE * per_window)
        self.exactly(service, template, np.minimum(self.counts.poisson(expected), limit), fixed)

    def exactly(
        self,
        service: ServiceId,
        template: Template,
        counts: Ints,
        fixed: Mapping[str, Field] | None = None,
    ) -> None:
        """Write `counts[i]` lines in sample window i, at uniformly random seconds."""
        t = self.timeline
        total = int(counts.sum())
        if total == 0:
            return
        starts = np.repeat(t.start_s + np.arange(t.n_samples) * t.step_s, counts)
        stamps = np.round(starts + self.counts.uniform(0.0, t.step_s, total), 3)
        fields = {**self.fields(service), **(fixed or {})}
        for stamp in stamps.tolist():
            message = template.text.format_map(_Line(self.rng, fields))
            self.records.append(LogRecord(stamp, service, message, template.level))

    def once(self, service: ServiceId, template: Template, at_s: float) -> None:
        """Write one line at a given second."""
        message = template.text.format_map(_Line(self.rng, self.fields(service)))
        self.records.append(LogRecord(round(at_s, 3), service, message, template.level))


def _fault_lines(writer: _Writer, culprit: ServiceId, signature: Signature, impact: Impact) -> None:
    """Write the culprit's own fault templates and what its callers log about it."""
    estate, timeline = writer.estate, writer.timeline
    kind = estate.profiles[culprit].kind
    cap = MAX_FAULT_LINES_PER_MINUTE
    own = OWN_FAULT.get(signature.kind, {}).get(kind)
    if own is not None:
        if signature.kind in (FaultKind.ERRORS, FaultKind.BAD_CHANGE):
            rate = np.minimum(cap, 80.0 * timeline.window_means(signature.error))
        elif signature.kind is FaultKind.WRONG_OUTPUT:
            rate = np.minimum(cap, 60.0 * timeline.window_means(signature.wrong))
        else:
            rate = 10.0 * timeline.window_means(signature.intensity)
        build = f"{writer.rng.getrandbits(28):07x}"
        writer.at_rate(culprit, own, rate, {"build": build})
    for restart in signature.restarts_s:
        writer.once(culprit, OOM_KILLED, timeline.start_s + restart)
        writer.once(culprit, STARTING, timeline.start_s + restart + writer.rng.uniform(3.0, 10.0))

    if signature.kind is FaultKind.WRONG_OUTPUT:
        counts = semantic_check_counts(estate, timeline, culprit, signature)
        for caller, per_window in counts.items():
            writer.exactly(caller, SEMANTIC_CHECK, per_window, {"callee": culprit})
        return
    if signature.kind is FaultKind.NETWORK:
        network = timeline.window_means(signature.network_ms)
        level = network / max(float(network.max()), 1e-9)
        for caller in estate.graph.callers(culprit):
            rate = 12.0 * estate.share(caller, culprit) * level
            writer.at_rate(caller, UPSTREAM_TIMEOUT, rate, {"callee": culprit})

    callers, latency, errors = inherited(timeline, signature, impact)
    for i, caller in enumerate(callers):
        through = impact.via[caller]
        weights = [1.0 if c == culprit else impact.error_share.get(c, 0.0) for c in through]
        pick = _weighted_choice(through, weights)
        if errors[i].max() > 0.002:
            writer.at_rate(caller, UPSTREAM_FAILED, np.minimum(cap, 80.0 * errors[i]), {"callee": pick})
        profile = estate.profiles[caller]
        healthy_p90 = profile.latency_ms * profile.p90_ratio
        if profile.kind is ServiceKind.API and latency[i].max() > healthy_p90:
            # Inherited slowness shows up as more of the caller's ordinary slow-request warnings.
            writer.at_rate(caller, SLOW[ServiceKind.API], 6.0 * np.clip(latency[i] / (4 * healthy_p90), 0, 1))


def _weighted_choice(options: tuple[ServiceId, ...], weights: list[float]) -> Callable[[random.Random], str]:
    """Return a field that names one of `options` per line, in proportion to `weights`."""

    def choose(rng: random.Random) -> str:
        return rng.choices(options, weights)[0]

    return choose
