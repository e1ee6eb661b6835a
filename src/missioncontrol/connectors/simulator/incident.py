"""Simulate one incident on an estate: healthy signals, the fault, the alert, changes, logs and spans.

    simulate_incident
     ├── healthy + benign_spikes       signals.py   every service, noise and blips
     ├── build_signature               faults.py    the culprit's own fault, second by second
     ├── propagate + add_fault         propagation.py / signals.py   what callers inherit, and when
     ├── sli_alert | semantic_alert    alerts.py    what paged, 1–3 minutes after onset
     ├── red-herring deploy            here         a change near the symptom that does nothing
     ├── simulate_logs                 logs.py
     └── simulate_spans                spans.py

Each concern draws from its own seeded stream, so switching logs, spans or the red herring on or off
never changes the metrics, and the healthy signals of one seed are the same whatever the fault.
"""

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from missioncontrol.connectors.simulator import alerts, logs, signals
from missioncontrol.connectors.simulator.estate import Estate
from missioncontrol.connectors.simulator.faults import (
    Signature,
    build_signature,
    check_culprit,
    eligible_culprits,
)
from missioncontrol.connectors.simulator.propagation import Impact, propagate
from missioncontrol.connectors.simulator.spans import simulate_spans
from missioncontrol.connectors.simulator.timeline import Timeline, np_stream, streams
from missioncontrol.domain import (
    Alert,
    Case,
    Change,
    ChangeKind,
    FaultKind,
    LabeledCase,
    ServiceId,
    Telemetry,
    TimeMode,
    Truth,
)

SYSTEM = "simulated"


def simulate_incident(
    estate: Estate,
    *,
    fault: FaultKind | None,
    culprit: ServiceId | None,
    seed: int,
    red_herring_deploy: bool = True,
    duration_s: int = 1800,
    step_s: int = 60,
    onset_offset_s: int = 1500,
    with_logs: bool = True,
    with_spans: bool = True,
    time_mode: TimeMode = TimeMode.GIVEN,
) -> LabeledCase:
    """Return one labelled incident: `fault` in `culprit` (picked from `seed` if None), or a control.

    With `fault=None` the case is a no-fault control: noise, benign spikes and one false alarm on a
    spike, with no truth. The case id names only the seed and the estate size.
    """
    timeline = Timeline.for_seed(seed, duration_s=duration_s, step_s=step_s, onset_offset_s=onset_offset_s)
    if fault is None and culprit is not None:
        raise ValueError(f"a no-fault control has no culprit, but culprit={culprit!r} was given")
    if fault is not None and culprit is None:
        culprit = streams(seed, "culprit").choice(eligible_culprits(estate, fault))
    if fault is not None and culprit is not None:
        check_culprit(estate, fault, culprit)

    metrics = signals.healthy(estate, timeline, np_stream(seed, "metrics"))
    signals.add_spikes(metrics, signals.benign_spikes(estate, timeline, np_stream(seed, "spikes")))
    alert_rng = streams(seed, "alert")
    changes: list[Change] = []
    truth = None
    fault_detail = None
    if fault is None or culprit is None:
        symptom = _false_alarm(estate, timeline, metrics, streams(seed, "false-alarm"))
        signals.finish(metrics)
        alert = alerts.sli_alert(estate, timeline, metrics, [symptom], alert_rng)
    else:
        signature = build_signature(fault, estate.profiles[culprit], timeline, np_stream(seed, "fault"))
        impact = propagate(estate, culprit, streams(seed, "propagation"))
        signals.add_fault(metrics, timeline, culprit, signature, impact)
        signals.finish(metrics)
        alert = _incident_alert(estate, timeline, metrics, culprit, signature, impact, alert_rng)
        truth = Truth(service=culprit, fault=fault.value, kind=fault, started_at=timeline.onset_at)
        fault_detail = (culprit, signature, impact)
        if fault is FaultKind.BAD_CHANGE:
            changes.append(_deploy(culprit, timeline.onset_at, streams(seed, "deploy")))

    if red_herring_deploy and fault is not FaultKind.BAD_CHANGE:
        herring_rng = streams(seed, "red-herring")
        herring = _red_herring(estate, culprit, alert, herring_rng)
        at = timeline.onset_at - timedelta(seconds=herring_rng.randint(60, 300))
        changes.append(_deploy(herring, at, herring_rng))

    telemetry = Telemetry(
        metrics=signals.to_series(metrics, estate, timeline),
        logs=logs.simulate_logs(estate, timeline, seed, fault_detail) if with_logs else (),
        spans=(
            simulate_spans(estate, timeline, seed, fault_detail[:2] if fault_detail else None)
            if with_spans
            else ()
        ),
    )
    case = Case(
        id=f"sim/{seed}/{len(estate.profiles)}",
        system=SYSTEM,
        telemetry=telemetry,
        graph=estate.graph,
        changes=tuple(sorted(changes, key=lambda c: (c.at, c.service))),
        alert=alert,
        known_onset_at=timeline.onset_at,
        description=f"Simulated estate of {len(estate.profiles)} services.",
    )
    labeled = LabeledCase(case=case, truth=truth)
    return labeled if time_mode is TimeMode.GIVEN else _found(labeled, timeline)


def _incident_alert(
    estate: Estate,
    timeline: Timeline,
    metrics: signals.Signals,
    culprit: ServiceId,
    signature: Signature,
    impact: Impact,
    rng: random.Random,
) -> Alert:
    """Return what pages: an entry point's SLI, or for a wrong answer the callers' semantic checks."""
    if signature.kind is FaultKind.WRONG_OUTPUT:
        counts = logs.semantic_check_counts(estate, timeline, culprit, signature)
        rule = max(1, round(logs.SEMANTIC_RULE_PER_MINUTE * timeline.step_s / 60))
        return alerts.semantic_alert(estate, timeline, counts, rng, rule_per_window=rule)
    reached = [e for e in estate.entry_points if e == culprit or e in impact.delay_s]
    return alerts.sli_alert(estate, timeline, metrics, reached, rng)


def _false_alarm(
    estate: Estate, timeline: Timeline, metrics: signals.Signals, rng: random.Random
) -> ServiceId:
    """Put a benign latency spike on an entry point at the onset mark; return that entry point."""
    entry = rng.choice(estate.entry_points)
    blip = signals.Spike(entry, "latency", timeline.onset_index, rng.choice((1, 2)), rng.uniform(2.4, 3.2))
    signals.add_spikes(metrics, [blip])
    return entry


def _red_herring(estate: Estate, culprit: ServiceId | None, alert: Alert, rng: random.Random) -> ServiceId:
    """Return a service near the symptom for a harmless deploy: on the path, a sibling, or a callee."""
    graph = estate.graph
    symptom = alert.service if alert.service is not None else estate.entry_points[0]
    if culprit is None:
        near = list(graph.callees(symptom)) or [symptom]
        return rng.choice(near)
    path = graph.path(symptom, culprit) or (culprit,)
    between = list(path[1:-1])
    if between:
        return rng.choice(between)
    siblings = sorted({c for caller in graph.callers(culprit) for c in graph.callees(caller)} - {culprit})
    near = siblings + [s for s in path[:-1] if s != culprit]
    if near:
        return rng.choice(near)
    if graph.callees(culprit):  # the culprit is the entry point itself: blame its dependencies
        return rng.choice(graph.callees(culprit))
    others = [s for s in estate.services if s != culprit]
    return rng.choice(others)


def _deploy(service: ServiceId, at: datetime, rng: random.Random) -> Change:
    version = f"v{rng.randint(1, 4)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}"
    commit = f"{rng.getrandbits(28):07x}"
    at = at.replace(microsecond=0)
    return Change(service, ChangeKind.DEPLOY, at, f"rolled out {service} {version} (commit {commit})")


def _found(labeled: LabeledCase, timeline: Timeline) -> LabeledCase:
    """Return the case as the engine sees it without the fault start: a window anchored on the alert."""
    case = labeled.case
    if case.alert is None:
        raise ValueError(f"case {case.id} has no alert to anchor a found-onset window on")
    fired = case.alert.started_at.timestamp()
    lo = fired - (timeline.onset_offset_s + alerts.FIRST_ALERT_S)
    hi = fired + (timeline.duration_s - timeline.onset_offset_s - alerts.LAST_ALERT_S)
    stamps = timeline.timestamps()
    keep = [i for i, t in enumerate(stamps) if lo <= t < hi]
    kept_stamps = tuple(stamps[i] for i in keep)
    first, last = keep[0], keep[-1] + 1
    # Logs, spans and changes keep exactly the span of the metric windows kept.
    lo, hi = kept_stamps[0], kept_stamps[-1] + timeline.step_s
    metrics = tuple(
        replace(m, timestamps=kept_stamps, values=m.values[first:last]) for m in case.telemetry.metrics
    )
    lo_ns, hi_ns = int(lo * 1e9), int(hi * 1e9)
    traces = {
        s.trace_id for s in case.telemetry.spans if s.parent_span_id is None and lo_ns <= s.start_ns < hi_ns
    }
    telemetry = Telemetry(
        metrics=metrics,
        logs=tuple(r for r in case.telemetry.logs if lo <= r.timestamp < hi),
        spans=tuple(s for s in case.telemetry.spans if s.trace_id in traces),
    )
    window = (datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC))
    changes = tuple(c for c in case.changes if window[0] <= c.at < window[1])
    found = replace(case, telemetry=telemetry, changes=changes, known_onset_at=None)
    return LabeledCase(case=found, truth=labeled.truth)
