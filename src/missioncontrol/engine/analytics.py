"""SRE-lead analytics: how good the investigations were, not only how many. Pure computations.

Input is one `IncidentRecord` per incident: the incident, its latest brief (if any), when the first
brief was stored, and the confirmed cause once resolved (from the knowledge bank). Output is an
`Analytics` value that the web page charts and the export routes turn into CSV or JSON.

Definitions (so every number can be checked by hand):
- *first-hypothesis accuracy*: among resolved incidents with a confirmed cause service and a brief with
  at least one hypothesis, the share whose top-ranked service is the confirmed one.
- *rank of the confirmed cause*: its 1-based position among the brief's ranked services, or "absent".
- *alert → brief*: first brief stored minus the earliest alert received (or the incident's opening).
- *alert → resolution*: resolved_at minus the same start.
- *escalation reason*: "missing authority" when the decision names the missing authority, else "other".
- *complexity* of an investigation: hops on the top hypothesis' path + (rank of the confirmed cause − 1)
  + one per weakened alternative. Grouped by symptom service and by the symptom → cause pattern.
- *signal-to-noise* of an alert name: the share of its resolved incidents that had a confirmed cause
  (actionable), against those resolved with none (noise).
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from missioncontrol.domain.diagnosis import FaultKind
from missioncontrol.domain.ids import ServiceId
from missioncontrol.domain.incidents import Brief, Incident
from missioncontrol.domain.respond import Verdict

ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """One incident as the analytics see it: the incident, its brief and, once known, its confirmed cause."""

    incident: Incident
    brief: Brief | None = None
    first_brief_at: datetime | None = None
    confirmed_service: ServiceId | None = None
    confirmed_fault: FaultKind | None = None


@dataclass(frozen=True, slots=True)
class Durations:
    """Summary of a set of durations in seconds."""

    count: int
    median_s: float | None
    p90_s: float | None
    max_s: float | None


@dataclass(frozen=True, slots=True)
class AlertQuality:
    """How one alert name has behaved: incidents it opened, wrong first hypotheses, signal-to-noise."""

    alert: str
    incidents: int
    judged: int  # resolved with a confirmed cause and a ranked brief
    wrong_first: int
    actionable: int  # resolved with a confirmed cause
    noise: int  # resolved with no confirmed cause

    @property
    def signal_to_noise(self) -> float | None:
        """Return actionable / (actionable + noise), or None when none has been resolved."""
        total = self.actionable + self.noise
        return self.actionable / total if total else None


@dataclass(frozen=True, slots=True)
class Complexity:
    """Mean investigation complexity for one symptom service or one symptom → cause pattern."""

    key: str
    incidents: int
    mean_complexity: float


@dataclass(frozen=True, slots=True)
class Analytics:
    """Everything the SRE-lead page shows."""

    incidents: int
    resolved: int
    judged: int
    first_hypothesis_correct: int
    rank_of_confirmed: tuple[tuple[str, int], ...]  # ("1", n), ("2", n), ..., ("absent", n)
    alert_to_brief: Durations
    alert_to_resolution: Durations
    escalations_by_tier: tuple[tuple[str, int], ...]
    escalations_by_reason: tuple[tuple[str, int], ...]
    alerts: tuple[AlertQuality, ...]  # most wrong first hypotheses first
    complex_services: tuple[Complexity, ...]
    complex_patterns: tuple[Complexity, ...]

    @property
    def first_hypothesis_accuracy(self) -> float | None:
        """Return the share of judged incidents whose top hypothesis was the confirmed cause."""
        return self.first_hypothesis_correct / self.judged if self.judged else None


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def summarize_durations(seconds: Iterable[float]) -> Durations:
    """Return count, median, p90 and max of `seconds` (nearest-rank quantiles)."""
    values = sorted(seconds)
    if not values:
        return Durations(0, None, None, None)
    return Durations(len(values), _quantile(values, 0.5), _quantile(values, 0.9), values[-1])


def _start_of(incident: Incident) -> datetime:
    return min((a.received_at for a in incident.alerts), default=incident.opened_at)


def confirmed_rank(record: IncidentRecord) -> str | None:
    """Return the confirmed cause's 1-based rank in the brief as text, "absent", or None if not judged."""
    if record.confirmed_service is None or record.brief is None:
        return None
    ranked = record.brief.diagnosis.ranked_services
    if not ranked:
        return None
    return str(ranked.index(record.confirmed_service) + 1) if record.confirmed_service in ranked else ABSENT


def complexity_of(record: IncidentRecord) -> float | None:
    """Return one incident's investigation complexity (see the module docstring); None without a brief."""
    if record.brief is None or not record.brief.diagnosis.hypotheses:
        return None
    diagnosis = record.brief.diagnosis
    hops = max(0, len(diagnosis.hypotheses[0].path) - 1)
    rank = confirmed_rank(record)
    misses = (
        0 if rank in (None, "1") else (len(diagnosis.ranked_services) if rank == ABSENT else int(rank) - 1)
    )
    return float(hops + misses + len(diagnosis.weakened))


def compute_analytics(records: Iterable[IncidentRecord]) -> Analytics:
    """Return the SRE-lead analytics over these incidents."""
    rows = list(records)
    ranks: Counter[str] = Counter()
    to_brief: list[float] = []
    to_resolution: list[float] = []
    by_tier: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    per_alert: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    per_service: dict[str, list[float]] = defaultdict(list)
    per_pattern: dict[str, list[float]] = defaultdict(list)
    resolved = judged = correct = 0
    for record in rows:
        incident, brief = record.incident, record.brief
        start = _start_of(incident)
        first_brief_at = record.first_brief_at or (brief.generated_at if brief else None)
        if first_brief_at is not None:
            to_brief.append(max(0.0, (first_brief_at - start).total_seconds()))
        if incident.resolved_at is not None:
            resolved += 1
            to_resolution.append(max(0.0, (incident.resolved_at - start).total_seconds()))
        rank = confirmed_rank(record)
        if rank is not None:
            judged += 1
            ranks[rank] += 1
            correct += rank == "1"
        decision = brief.decision if brief else None
        if decision is not None and decision.verdict is Verdict.ESCALATE:
            by_tier[decision.escalate_to or "unnamed"] += 1
            by_reason["missing authority" if decision.missing_authority else "other"] += 1
        for name in sorted({a.name for a in incident.alerts}):
            counts = per_alert[name]
            counts[0] += 1
            if rank is not None:
                counts[1] += 1
                counts[2] += rank != "1"
            if incident.resolved_at is not None:
                if record.confirmed_service is not None:
                    counts[3] += 1
                else:
                    counts[4] += 1
        complexity = complexity_of(record)
        if complexity is not None and brief is not None:
            symptom = brief.diagnosis.symptom or incident.symptom or ServiceId("unknown")
            cause = record.confirmed_service or brief.diagnosis.hypotheses[0].service
            per_service[symptom].append(complexity)
            per_pattern[f"{symptom} → {cause}"].append(complexity)
    alerts = tuple(
        sorted(
            (AlertQuality(name, *counts) for name, counts in per_alert.items()),
            key=lambda q: (-q.wrong_first, -q.incidents, q.alert),
        )
    )

    def ranked(groups: dict[str, list[float]]) -> tuple[Complexity, ...]:
        out = [Complexity(k, len(v), sum(v) / len(v)) for k, v in groups.items()]
        return tuple(sorted(out, key=lambda c: (-c.mean_complexity, -c.incidents, c.key))[:15])

    def rank_key(item: tuple[str, int]) -> tuple[int, str]:
        return (10**9 if item[0] == ABSENT else int(item[0]), item[0])

    return Analytics(
        incidents=len(rows),
        resolved=resolved,
        judged=judged,
        first_hypothesis_correct=correct,
        rank_of_confirmed=tuple(sorted(ranks.items(), key=rank_key)),
        alert_to_brief=summarize_durations(to_brief),
        alert_to_resolution=summarize_durations(to_resolution),
        escalations_by_tier=tuple(sorted(by_tier.items(), key=lambda kv: (-kv[1], kv[0]))),
        escalations_by_reason=tuple(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
        alerts=alerts,
        complex_services=ranked(per_service),
        complex_patterns=ranked(per_pattern),
    )


def to_table(analytics: Analytics) -> list[dict[str, str | int | float | None]]:
    """Return the analytics as flat rows (metric, key, value) for a CSV export."""
    rows: list[dict[str, str | int | float | None]] = [
        {"metric": "incidents", "key": "", "value": analytics.incidents},
        {"metric": "resolved", "key": "", "value": analytics.resolved},
        {"metric": "judged", "key": "", "value": analytics.judged},
        {"metric": "first_hypothesis_accuracy", "key": "", "value": analytics.first_hypothesis_accuracy},
    ]
    rows += [{"metric": "rank_of_confirmed", "key": k, "value": v} for k, v in analytics.rank_of_confirmed]
    for name, d in (
        ("alert_to_brief", analytics.alert_to_brief),
        ("alert_to_resolution", analytics.alert_to_resolution),
    ):
        rows += [
            {"metric": f"{name}_s", "key": "count", "value": d.count},
            {"metric": f"{name}_s", "key": "median", "value": d.median_s},
            {"metric": f"{name}_s", "key": "p90", "value": d.p90_s},
            {"metric": f"{name}_s", "key": "max", "value": d.max_s},
        ]
    rows += [
        {"metric": "escalations_by_tier", "key": k, "value": v} for k, v in analytics.escalations_by_tier
    ]
    rows += [
        {"metric": "escalations_by_reason", "key": k, "value": v} for k, v in analytics.escalations_by_reason
    ]
    for q in analytics.alerts:
        rows.append({"metric": "alert_wrong_first_hypothesis", "key": q.alert, "value": q.wrong_first})
        rows.append({"metric": "alert_signal_to_noise", "key": q.alert, "value": q.signal_to_noise})
    rows += [
        {"metric": "complexity_by_service", "key": c.key, "value": round(c.mean_complexity, 3)}
        for c in analytics.complex_services
    ]
    rows += [
        {"metric": "complexity_by_pattern", "key": c.key, "value": round(c.mean_complexity, 3)}
        for c in analytics.complex_patterns
    ]
    return rows
