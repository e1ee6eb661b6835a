"""Tests for the simulated estate: structure, determinism, fault signatures, causality, alerts, suite."""

import re
from collections import defaultdict
from functools import cache

import numpy as np
import pytest

from missioncontrol.connectors.simulator import (
    SUPPORTED_FAULTS,
    Estate,
    ServiceKind,
    SimulatorSource,
    demo_case,
    generate_estate,
    names,
    simulate_incident,
)
from missioncontrol.domain import (
    ChangeKind,
    FaultKind,
    LabeledCase,
    ServiceId,
    Span,
    TimeMode,
)

N = 24
SEEDS = (11, 12, 13)


@cache
def estate(n: int = N, seed: int = 3) -> Estate:
    return generate_estate(n, seed=seed)


@cache
def incident(fault: FaultKind | None, seed: int, *, rich: bool = False) -> LabeledCase:
    """One case per (fault, seed) on the shared estate; logs and spans only where a test needs them."""
    return simulate_incident(estate(), fault=fault, culprit=None, seed=seed, with_logs=rich, with_spans=rich)


def metrics_of(labeled: LabeledCase) -> dict[tuple[str, str], np.ndarray]:
    return {(m.service, m.metric): np.array(m.values) for m in labeled.case.telemetry.metrics}


def onset_index(labeled: LabeledCase) -> int:
    first = labeled.case.telemetry.metrics[0].timestamps[0]
    assert labeled.case.known_onset_at is not None
    return int((labeled.case.known_onset_at.timestamp() - first) // 60)


def robust_shift(series: np.ndarray, onset: int) -> float:
    """Return how far the post-onset median sits from the pre-onset median, in MADs."""
    before, after = series[:onset], series[onset + 1 :]
    mad = float(np.median(np.abs(before - np.median(before)))) or 1e-9
    return float((np.median(after) - np.median(before)) / mad)


def first_change(a: np.ndarray, b: np.ndarray) -> int | None:
    changed = np.flatnonzero(a != b)
    return int(changed[0]) if changed.size else None


# --- the estate ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [4, 24, 200])
def test_estate_is_a_dag_reached_from_its_entry_points(n: int) -> None:
    e = generate_estate(n, seed=5)
    graph = e.graph
    assert len(e.services) == n and graph.services == frozenset(e.services)
    # Kahn: a DAG sorts completely.
    pending = {s: len(graph.callers(s)) for s in e.services}
    ready = [s for s, k in pending.items() if k == 0]
    sorted_count = 0
    while ready:
        node = ready.pop()
        sorted_count += 1
        for callee in graph.callees(node):
            pending[callee] -= 1
            if pending[callee] == 0:
                ready.append(callee)
    assert sorted_count == n
    assert set(e.hops_from_entry()) == set(e.services)
    assert set(ready) | set(e.entry_points) == set(e.entry_points)
    assert all(not graph.callers(s) for s in e.entry_points)


def test_estate_has_plausible_shape_names_and_owners() -> None:
    e = generate_estate(200, seed=5)
    graph, profiles = e.graph, e.profiles
    for service in e.services:
        p = profiles[service]
        assert re.fullmatch(r"[a-z][a-z0-9-]*", service)
        assert p.team in names.TEAMS
        if p.kind is ServiceKind.API:
            assert 1 <= len(graph.callees(service)) <= 4, service
        else:
            assert graph.callees(service) == ()
        assert all(profiles[c].tier > p.tier for c in graph.callees(service))
    kinds = {p.kind for p in profiles.values()}
    assert kinds == set(ServiceKind)
    assert {"users-db", "auth"} <= set(e.services)
    in_degree = sorted(len(graph.callers(s)) for s in e.services)
    assert in_degree[-1] >= 8 * max(1, in_degree[len(in_degree) // 2])  # a few hubs many depend on
    assert e.teams["api-gateway"] == "storefront"


def test_estate_is_deterministic_per_seed() -> None:
    assert generate_estate(50, seed=1) == generate_estate(50, seed=1)
    assert generate_estate(50, seed=1).graph != generate_estate(50, seed=2).graph


def test_large_estates_number_repeated_names_and_stay_small_in_memory() -> None:
    e = generate_estate(5000, seed=1)
    assert len(set(e.services)) == 5000
    assert any(re.search(r"-\d+$", s) for s in e.services)
    labeled = simulate_incident(
        e, fault=FaultKind.CPU, culprit=None, seed=1, with_logs=False, with_spans=False
    )
    metrics = labeled.case.telemetry.metrics
    assert 8 * 5000 <= len(metrics) <= 9 * 5000
    assert len({id(m.timestamps) for m in metrics}) == 1  # one shared tuple of stamps
    assert labeled.case.telemetry.logs == () and labeled.case.telemetry.spans == ()


# --- determinism and what the engine may see ------------------------------------------------------


def test_same_seed_gives_equal_cases_and_another_seed_does_not() -> None:
    a = simulate_incident(estate(), fault=FaultKind.ERRORS, culprit=None, seed=21)
    b = simulate_incident(estate(), fault=FaultKind.ERRORS, culprit=None, seed=21)
    c = simulate_incident(estate(), fault=FaultKind.ERRORS, culprit=None, seed=22)
    assert a == b
    assert a.case.telemetry != c.case.telemetry


@pytest.mark.parametrize("fault", [*SUPPORTED_FAULTS, None])
def test_case_id_and_description_do_not_reveal_the_truth(fault: FaultKind | None) -> None:
    labeled = incident(fault, SEEDS[0])
    case = labeled.case
    assert case.id == f"sim/{SEEDS[0]}/{N}"
    assert case.system == "simulated"
    assert case.description == f"Simulated estate of {N} services."
    if labeled.truth is not None:
        assert labeled.truth.service not in case.id
        assert labeled.truth.kind.value not in case.id + case.description


def test_metric_values_are_physical() -> None:
    m = metrics_of(incident(FaultKind.CPU, SEEDS[0]))
    for (service, metric), values in m.items():
        assert np.isfinite(values).all()
        if metric in ("cpu_usage_rate", "memory_usage_rate", "error_rate", "success_rate"):
            assert ((values >= 0) & (values <= 1)).all(), (service, metric)
        if metric == "latency_p90":
            assert (values >= m[(service, "latency_p50")]).all()
            assert (values <= m[(service, "latency_p99")]).all()
        if metric == "success_rate":
            assert np.allclose(values, 1 - m[(service, "error_rate")], atol=1e-4)
    assert len(m) >= 8 * N


# --- fault signatures -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("fault", "rises", "steady"),
    [
        (FaultKind.CPU, ("cpu_usage_rate", "latency_p90"), ("memory_usage_rate", "network_latency_p90")),
        (FaultKind.MEMORY, ("memory_usage_rate", "latency_p90"), ("network_latency_p90",)),
        (FaultKind.LATENCY, ("latency_p90",), ("cpu_usage_rate", "memory_usage_rate", "error_rate")),
        (FaultKind.ERRORS, ("error_rate",), ("cpu_usage_rate", "memory_usage_rate", "latency_p90")),
        (FaultKind.NETWORK, ("network_latency_p90",), ("cpu_usage_rate", "memory_usage_rate", "error_rate")),
        (FaultKind.BAD_CHANGE, ("error_rate",), ("network_latency_p90",)),
    ],
)
def test_fault_shows_in_the_culprits_own_signals_after_onset_only(
    fault: FaultKind, rises: tuple[str, ...], steady: tuple[str, ...], seed: int
) -> None:
    labeled, control = incident(fault, seed), incident(None, seed)
    assert labeled.truth is not None and labeled.truth.kind is fault
    culprit, onset = labeled.truth.service, onset_index(labeled)
    m, healthy = metrics_of(labeled), metrics_of(control)
    assert control.case.alert is not None
    blip = control.case.alert.service  # the control's false alarm, on this entry point's latency
    for metric in rises:
        series = m[(culprit, metric)]
        before = series[:onset]
        median = np.median(before)
        mad = np.median(np.abs(before - median))
        assert series[onset + 1 :].max() > median + 3 * mad, metric
        assert robust_shift(series, onset) > 3, metric
        if culprit != blip:
            # Not before: until onset the series is exactly the healthy one of the same seed.
            assert first_change(series, healthy[(culprit, metric)]) == onset, metric
    for metric in steady:
        if culprit != blip or "latency" not in metric:
            assert np.array_equal(m[(culprit, metric)], healthy[(culprit, metric)]), metric


@pytest.mark.parametrize("seed", SEEDS)
def test_wrong_output_changes_no_metric_but_brings_new_log_templates(seed: int) -> None:
    wrong = incident(FaultKind.WRONG_OUTPUT, seed, rich=True)
    control = incident(None, seed, rich=True)
    assert wrong.truth is not None
    culprit, onset_at = wrong.truth.service, wrong.truth.started_at.timestamp()
    wrong_m, control_m = metrics_of(wrong), metrics_of(control)
    # "200 OK, on time, wrong": the culprit's dashboards are exactly what they would have been.
    for (service, metric), values in wrong_m.items():
        if service == culprit:
            assert np.array_equal(values, control_m[(service, metric)]), metric
    logs = wrong.case.telemetry.logs
    before = {r.message for r in logs if r.service == culprit and r.timestamp < onset_at}
    new = [
        r
        for r in logs
        if r.service == culprit and r.timestamp >= onset_at and r.message.startswith("validation")
    ]
    assert new and not any(m.startswith("validation") for m in before)
    assert len({r.message for r in new}) > 1  # variable fields: a template miner must generalise
    callers = set(wrong.case.graph.callers(culprit)) if wrong.case.graph else set()
    checks = [r for r in logs if f"response from {culprit} failed semantic check" in r.message]
    assert checks and {r.service for r in checks} <= callers
    assert min(r.timestamp for r in checks) >= onset_at


@pytest.mark.parametrize("seed", SEEDS)
def test_errors_bring_a_new_exception_template_and_upstream_failures(seed: int) -> None:
    labeled = incident(FaultKind.ERRORS, seed, rich=True)
    assert labeled.truth is not None
    culprit, onset_at = labeled.truth.service, labeled.truth.started_at.timestamp()
    logs = labeled.case.telemetry.logs
    errors = [r for r in logs if r.service == culprit and r.level == "ERROR"]
    assert errors and min(r.timestamp for r in errors) >= onset_at
    assert len({r.message for r in errors}) == len(errors)  # ids and numbers vary line by line
    upstream = [r for r in logs if r.message.startswith("upstream call to") and r.level == "ERROR"]
    assert all(r.timestamp >= onset_at for r in upstream)
    if labeled.case.graph is not None and labeled.case.graph.callers(culprit):
        assert any(r.message.startswith(f"upstream call to {culprit} failed") for r in upstream)


def test_bad_change_is_a_deploy_on_the_culprit_at_onset() -> None:
    labeled = incident(FaultKind.BAD_CHANGE, SEEDS[0])
    assert labeled.truth is not None
    (deploy,) = labeled.case.changes
    assert deploy.kind is ChangeKind.DEPLOY
    assert deploy.service == labeled.truth.service
    assert deploy.at == labeled.truth.started_at


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "fault", [FaultKind.CPU, FaultKind.MEMORY, FaultKind.LATENCY, FaultKind.ERRORS, FaultKind.NETWORK]
)
def test_effects_start_at_onset_and_never_before_their_cause(fault: FaultKind, seed: int) -> None:
    faulty, control = incident(fault, seed), incident(None, seed)
    assert faulty.truth is not None and control.case.alert is not None
    culprit, onset = faulty.truth.service, onset_index(faulty)
    graph = faulty.case.graph
    assert graph is not None
    a, b = metrics_of(faulty), metrics_of(control)
    false_alarm = control.case.alert.service  # the control's only difference: a blip at onset
    starts: dict[ServiceId, int] = {}
    for (service, metric), values in a.items():
        if service == false_alarm or metric not in ("latency_p90", "error_rate", "network_latency_p90"):
            continue
        start = first_change(values, b[(service, metric)])
        if start is not None:
            assert start >= onset, (service, metric)
            starts[ServiceId(service)] = min(start, starts.get(ServiceId(service), start))
    if culprit != false_alarm:
        assert starts.get(culprit) == onset
    for service, start in starts.items():
        if service == culprit:
            continue
        assert service in graph.upstream(culprit, max_hops=N)
        hit = [starts[c] for c in graph.callees(service) if c in starts]
        assert hit and min(hit) <= start <= min(hit) + 1, service


# --- the red herring, the alert, and spans ------------------------------------------------------


@pytest.mark.parametrize("fault", [FaultKind.CPU, FaultKind.ERRORS, FaultKind.WRONG_OUTPUT, None])
def test_red_herring_deploy_is_near_the_symptom_and_changes_nothing(fault: FaultKind | None) -> None:
    with_herring = simulate_incident(estate(), fault=fault, culprit=None, seed=31)
    without = simulate_incident(estate(), fault=fault, culprit=None, seed=31, red_herring_deploy=False)
    assert without.case.changes == ()
    (deploy,) = with_herring.case.changes
    assert deploy.kind is ChangeKind.DEPLOY
    case, graph = with_herring.case, with_herring.case.graph
    assert graph is not None and case.known_onset_at is not None and case.alert is not None
    assert 60 <= (case.known_onset_at - deploy.at).total_seconds() <= 301
    assert with_herring.case.telemetry == without.case.telemetry  # no effect on any signal
    if with_herring.truth is not None:
        culprit = with_herring.truth.service
        assert deploy.service != culprit
        near = set(graph.path(ServiceId(case.alert.service or ""), culprit) or ())
        near |= {c for caller in graph.callers(culprit) for c in graph.callees(caller)}
        near |= set(graph.callees(culprit))
        assert deploy.service in near


@pytest.mark.parametrize("fault", [*SUPPORTED_FAULTS, None])
def test_alert_fires_one_to_three_minutes_after_onset(fault: FaultKind | None) -> None:
    for seed in SEEDS:
        labeled = incident(fault, seed)
        case = labeled.case
        assert case.alert is not None and case.known_onset_at is not None
        delay = (case.alert.started_at - case.known_onset_at).total_seconds()
        assert 60 <= delay <= 180
        assert re.fullmatch(r"[0-9a-f]{16}", case.alert.fingerprint)
        assert case.alert.severity.value == "critical"
        if fault is FaultKind.WRONG_OUTPUT:
            assert labeled.truth is not None and case.graph is not None
            assert case.alert.signal == "log:semantic_check_failed"
            assert case.alert.service in case.graph.callers(labeled.truth.service)
        else:
            assert case.alert.service in estate().entry_points
            assert case.alert.signal in ("latency_p90", "error_rate")
    again = incident(fault, SEEDS[0]).case.alert
    assert again is not None
    assert simulate_incident(estate(), fault=fault, culprit=None, seed=SEEDS[0]).case.alert == again


def self_times(spans: tuple[Span, ...]) -> dict[tuple[str, str], float]:
    children = defaultdict(int)
    for s in spans:
        if s.parent_span_id is not None:
            children[(s.trace_id, s.parent_span_id)] += s.duration_ns
    return {(s.trace_id, s.span_id): (s.duration_ns - children[(s.trace_id, s.span_id)]) / 1e6 for s in spans}


@pytest.mark.parametrize("fault", [FaultKind.CPU, FaultKind.LATENCY])
def test_spans_nest_follow_the_graph_and_show_the_culprits_self_time(fault: FaultKind) -> None:
    labeled = incident(fault, SEEDS[0], rich=True)
    assert labeled.truth is not None and labeled.case.graph is not None
    spans, graph = labeled.case.telemetry.spans, labeled.case.graph
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    assert len(by_id) == len(spans)
    for s in spans:
        assert s.end_ns > s.start_ns
        if s.parent_span_id is None:
            assert s.service in estate().entry_points
            continue
        parent = by_id[(s.trace_id, s.parent_span_id)]
        assert parent.start_ns <= s.start_ns and s.end_ns <= parent.end_ns
        assert (parent.service, s.service) in graph.edges
    culprit, onset_ns = labeled.truth.service, labeled.truth.started_at.timestamp() * 1e9
    own = self_times(spans)
    before = [own[(s.trace_id, s.span_id)] for s in spans if s.service == culprit and s.start_ns < onset_ns]
    after = [
        own[(s.trace_id, s.span_id)] for s in spans if s.service == culprit and s.start_ns > onset_ns + 60e9
    ]
    assert len(before) >= 10 and len(after) >= 3
    assert np.median(after) > 3 * np.median(before)


def test_failing_spans_are_marked_as_errors() -> None:
    before: list[bool] = []
    after: list[bool] = []
    for seed in SEEDS:  # pooled: a few sampled traces per minute reach any one culprit
        labeled = incident(FaultKind.ERRORS, seed, rich=True)
        assert labeled.truth is not None
        onset_ns = labeled.truth.started_at.timestamp() * 1e9
        for s in labeled.case.telemetry.spans:
            if s.service == labeled.truth.service:
                (before if s.start_ns < onset_ns else after).append(bool(s.is_error))
    assert np.mean(after) > 0.1 > 0.02 > np.mean(before)


def test_log_volume_stays_modest() -> None:
    labeled = incident(FaultKind.ERRORS, SEEDS[0], rich=True)
    per_minute: dict[tuple[str, int], int] = defaultdict(int)
    for r in labeled.case.telemetry.logs:
        per_minute[(r.service, int(r.timestamp // 60))] += 1
    assert max(per_minute.values()) <= 50
    assert {r.level for r in labeled.case.telemetry.logs} == {"INFO", "WARN", "ERROR"}


# --- controls, time modes, the demo and the suite -------------------------------------------------


def test_no_fault_control_has_no_truth_and_pages_on_a_benign_spike() -> None:
    labeled = incident(None, SEEDS[0])
    case = labeled.case
    assert labeled.truth is None
    assert case.alert is not None and case.alert.service in estate().entry_points
    assert [c.kind for c in case.changes] == [ChangeKind.DEPLOY]  # the decoy, and nothing to find
    assert case.known_onset_at is not None


def test_found_mode_hides_the_onset_and_anchors_the_window_on_the_alert() -> None:
    for seed in SEEDS:
        given = incident(FaultKind.CPU, seed, rich=True)
        found = simulate_incident(
            estate(), fault=FaultKind.CPU, culprit=None, seed=seed, time_mode=TimeMode.FOUND
        )
        case = found.case
        assert case.known_onset_at is None and found.truth == given.truth
        assert case.alert == given.case.alert and case.alert is not None and found.truth is not None
        stamps = case.telemetry.metrics[0].timestamps
        fired = case.alert.started_at.timestamp()
        # The window is a function of the alert time alone, so it tells nothing the alert does not.
        assert fired - 1560 <= stamps[0] < fired - 1560 + 60
        assert stamps[0] <= found.truth.started_at.timestamp() <= stamps[-1]
        assert all(stamps[0] <= r.timestamp < stamps[-1] + 60 for r in case.telemetry.logs)
        assert all(stamps[0] * 1e9 <= s.start_ns for s in case.telemetry.spans)
        assert set(case.changes) <= set(given.case.changes)


def test_demo_tells_a_clear_story() -> None:
    labeled = demo_case()
    case, truth = labeled.case, labeled.truth
    assert truth is not None and truth.kind is FaultKind.ERRORS
    assert case.graph is not None and case.alert is not None
    assert len(case.telemetry.services) == 24
    culprit = truth.service
    entry = ServiceId(case.alert.service or "")
    path = case.graph.path(entry, culprit)
    assert path is not None and 3 <= len(path) <= 4  # two or three hops below the entry point
    assert demo_case().case.id == case.id
    (deploy,) = case.changes
    assert deploy.service in path[1:-1]  # the decoy sits on the symptom's path
    assert culprit not in case.id


def test_source_yields_every_fault_on_culprits_at_several_depths_plus_controls() -> None:
    source = SimulatorSource(seeds=[0], culprits_per_fault=3, controls=2, with_logs=False, with_spans=False)
    cases = list(source.cases(time_mode=TimeMode.GIVEN))
    assert [c.case.id for c in cases] == [c.case.id for c in source.cases(time_mode=TimeMode.GIVEN)]
    assert len({c.case.id for c in cases}) == len(cases)
    kinds = [c.truth.kind if c.truth else None for c in cases]
    assert set(kinds) == {*SUPPORTED_FAULTS, None}
    assert kinds.count(None) == 2
    hops = generate_estate(N, seed=0).hops_from_entry()
    for fault in SUPPORTED_FAULTS:
        culprits = [c.truth.service for c in cases if c.truth and c.truth.kind is fault]
        assert len(set(culprits)) == 3
        assert len({hops[s] for s in culprits}) >= 2, fault
    found = next(iter(source.cases(time_mode=TimeMode.FOUND)))
    assert found.case.known_onset_at is None


def test_impossible_requests_are_refused_with_a_reason() -> None:
    e = estate()
    entry = e.entry_points[0]
    with pytest.raises(ValueError, match="cannot inject fault 'dependency'"):
        simulate_incident(e, fault=FaultKind.DEPENDENCY, culprit=None, seed=1)
    with pytest.raises(ValueError, match="not a service"):
        simulate_incident(e, fault=FaultKind.CPU, culprit=ServiceId("nope"), seed=1)
    with pytest.raises(ValueError, match="entry point"):
        simulate_incident(e, fault=FaultKind.NETWORK, culprit=entry, seed=1)
    with pytest.raises(ValueError, match="no culprit"):
        simulate_incident(e, fault=None, culprit=entry, seed=1)
    with pytest.raises(ValueError, match="multiple of step_s"):
        simulate_incident(e, fault=None, culprit=None, seed=1, duration_s=1000, step_s=60)
    with pytest.raises(ValueError, match="at least 4"):
        generate_estate(3, seed=1)
