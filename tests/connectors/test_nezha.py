"""Tests for the Nezha loader: pure mapping and alert rule, a small synthetic layout, the real files."""

import csv
import functools
import gzip
import io
import json
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from missioncontrol.connectors.nezha import (
    FRONT_DOOR_RULE,
    Direction,
    NezhaSource,
    SliCheck,
    SliRule,
    first_breach,
    service_of_pod,
)
from missioncontrol.connectors.nezha.layout import classify
from missioncontrol.connectors.nezha.mapping import (
    Rows,
    call_edges,
    log_level,
    parse_go_time,
    to_injections,
    to_spans,
    unwrap_log,
)
from missioncontrol.domain import CaseFormatError, FaultKind, LabeledCase, ServiceId, Span, TimeMode

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"

# Pure mapping -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pod", "service"),
    [
        ("ts-contacts-service-866bd68c97-xcqfx", "ts-contacts-service"),
        ("frontend-579b9bff58-t2dbm", "frontend"),
        ("ts-station-food-service-dc4d75dd-fw6ft", "ts-station-food-service"),
        ("redis-cart-0", "redis-cart-0"),
        ("frontend", "frontend"),
    ],
)
def test_service_of_pod_strips_the_two_hash_suffixes(pod: str, service: str) -> None:
    assert service_of_pod(pod) == service


def test_parse_go_time_reads_nanoseconds_and_offset() -> None:
    utc = parse_go_time("2023-01-29 08:41:09.043078357 +0000 UTC m=+0.119240217")
    shifted = parse_go_time("2023-01-29 16:41:09.5 +0800 CST")

    assert utc == pytest.approx(datetime(2023, 1, 29, 8, 41, 9, tzinfo=UTC).timestamp() + 0.043078357)
    assert shifted == datetime(2023, 1, 29, 8, 41, 9, 500000, tzinfo=UTC).timestamp()
    with pytest.raises(ValueError, match="is not a time"):
        parse_go_time("1674981669")


def test_unwrap_log_takes_the_inner_text_and_ignores_trailing_garbage() -> None:
    envelope = json.dumps({"log": "16:42:22.382 INFO  c.s.X#1 hello\n", "stream": "stdout"})

    assert unwrap_log(envelope) == "16:42:22.382 INFO  c.s.X#1 hello"
    assert unwrap_log(envelope + ':""2023-01-29T10:05:38Z""}') == "16:42:22.382 INFO  c.s.X#1 hello"
    assert unwrap_log("plain text\n") == "plain text"


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("16:42:22.382 INFO  t.s.TravelServiceImpl#532 error later", "INFO"),
        ("16:50:08.261 WARN  i.s.InsidePaymentServiceImpl#71 [pay]", "WARN"),
        ('{"severity": "warning", "message": "x"}', "WARN"),
        ('{"severity":"info","message":"x"}', "INFO"),
        ("16:48:42.468 ERROR f.s.FoodServiceImpl#302", "ERROR"),
        ("GetCartAsync called with userId=1", ""),
    ],
)
def test_log_level_is_the_first_level_token(message: str, level: str) -> None:
    assert log_level(message) == level


def test_fault_list_uses_inject_time_and_sorts() -> None:
    document = {
        "09": [
            {
                "inject_time": "2023-01-29 09:03:53",
                "inject_timestamp": "1",
                "inject_pod": "b-x",
                "inject_type": "return",
            }
        ],
        "08": [
            {
                "inject_time": "2023-01-29 08:43:04",
                "inject_timestamp": "2",
                "inject_pod": "a-x",
                "inject_type": "cpu",
            }
        ],
    }

    injections = to_injections(document, path="f.json")

    assert [i.at for i in injections] == [
        datetime(2023, 1, 29, 8, 43, 4, tzinfo=UTC),
        datetime(2023, 1, 29, 9, 3, 53, tzinfo=UTC),
    ]


def test_fault_list_missing_key_names_it() -> None:
    with pytest.raises(CaseFormatError, match=r"f\.json: hour '08': missing or empty key 'inject_pod'"):
        to_injections({"08": [{"inject_time": "2023-01-29 08:43:04", "inject_type": "cpu"}]}, path="f.json")


def test_classify_picks_the_system_naming_most_services() -> None:
    systems = {"tt": frozenset({"a", "b"}), "ob": frozenset({"c"})}

    assert classify(["a", "b", "c"], systems) == "tt"
    assert classify(["a", "c"], systems) is None
    assert classify(["z"], systems) is None


def test_spans_map_root_parent_and_bad_nanoseconds() -> None:
    header = (
        "TraceID",
        "SpanID",
        "ParentID",
        "PodName",
        "OperationName",
        "StartTimeUnixNano",
        "EndTimeUnixNano",
        "Duration",
    )
    good = Rows("t.csv", header, [["t", "s1", "root", "a-5f55b6cf68-77cfw", "GET", "10", "20", "10"]])
    bad = Rows("t.csv", header, [["t", "s1", "root", "a", "GET", "10", "soon", "10"]])

    (span,) = to_spans(good)

    assert (span.parent_span_id, span.service, span.is_error) == (None, "a", None)
    with pytest.raises(CaseFormatError, match=r"t\.csv, row 1, column 'EndTimeUnixNano': 'soon'"):
        to_spans(bad)


def test_call_edges_link_parent_service_to_child_service() -> None:
    def span(span_id: str, parent: str | None, service: str, trace: str = "t") -> Span:
        return Span(trace, span_id, parent, ServiceId(service), "op", 0, 1)

    spans = [
        span("1", None, "gw"),
        span("2", "1", "gw"),
        span("3", "2", "orders"),
        span("4", "3", "db"),
        span("5", "1", "other", trace="u"),  # parent id of another trace: no edge
    ]

    assert call_edges(spans) == {("gw", "orders"), ("orders", "db")}


# Alert rule ------------------------------------------------------------------------------------

MINUTE = 60.0


def flat(value: float, n: int = 40) -> tuple[list[float], list[float]]:
    return [i * MINUTE for i in range(n)], [value] * n


def test_latency_spike_fires_on_the_first_breaching_sample() -> None:
    times, values = flat(0.1)
    values = [v + (0.01 if i % 2 else 0) for i, v in enumerate(values)]
    values[33] = 0.3
    values[35] = 0.5

    breach = first_breach(
        {"LatencyP90(s)": (times, values)}, start=31 * MINUTE, end=36 * MINUTE, rule=FRONT_DOOR_RULE
    )

    assert breach is not None
    assert (breach.at, breach.column, breach.direction) == (33 * MINUTE, "LatencyP90(s)", Direction.UP)
    assert breach.value > breach.threshold > breach.median


def test_small_latency_wobble_under_the_relative_margin_does_not_fire() -> None:
    times, values = flat(0.1)
    values[33] = 0.115  # far above a MAD of 0, but only 15 % up

    assert (
        first_breach(
            {"LatencyP90(s)": (times, values)}, start=31 * MINUTE, end=36 * MINUTE, rule=FRONT_DOOR_RULE
        )
        is None
    )


def test_constant_zero_success_rate_switches_its_check_off() -> None:
    times, values = flat(0.0)

    assert (
        first_breach({"SuccessRate(%)": (times, values)}, start=0, end=40 * MINUTE, rule=FRONT_DOOR_RULE)
        is None
    )


def test_success_rate_drop_from_a_flat_100_fires() -> None:
    times, values = flat(100.0)
    values[34] = 96.0

    breach = first_breach(
        {"SuccessRate(%)": (times, values)}, start=31 * MINUTE, end=36 * MINUTE, rule=FRONT_DOOR_RULE
    )

    assert breach is not None
    assert (breach.at, breach.direction) == (34 * MINUTE, Direction.DOWN)


def test_breach_outside_the_range_or_without_baseline_is_ignored() -> None:
    times, values = flat(0.1)
    values[5] = 9.0  # only 5 baseline samples before it
    values[38] = 9.0  # after the range
    rule = SliRule(checks=(SliCheck("p", Direction.UP, 0.2),))

    assert first_breach({"p": (times, values)}, start=0, end=37 * MINUTE, rule=rule) is None


def test_checks_at_the_same_instant_follow_rule_order() -> None:
    times, latency = flat(0.1)
    _, success = flat(100.0)
    latency[34] = 1.0
    success[34] = 50.0

    breach = first_breach(
        {"LatencyP90(s)": (times, latency), "SuccessRate(%)": (times, success)},
        start=31 * MINUTE,
        end=36 * MINUTE,
        rule=FRONT_DOOR_RULE,
    )

    assert breach is not None
    assert breach.column == "SuccessRate(%)"


# A small synthetic layout ----------------------------------------------------------------------

DAY = "2024-01-01"
POD_A = "svc-a-5f55b6cf68-77cfw"
POD_B = "svc-b-84cbf6c798-7njv6"
FIRST = datetime(2024, 1, 1, 10, 40, tzinfo=UTC)  # gets an alert at 10:42:09
SECOND = datetime(2024, 1, 1, 11, 20, tzinfo=UTC)  # gets none


def go_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") + ".000000001 +0000 UTC m=+1.0"


def write_csv(path: Path, rows: list[list[str]], *, compress: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    if compress:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(buffer.getvalue().encode()))
    else:
        path.write_text(buffer.getvalue())


def minutes(start: datetime, end: datetime, *, second: int = 9) -> list[datetime]:
    first = start.replace(second=second)
    return [first + timedelta(minutes=i) for i in range(int((end - start).total_seconds() // 60))]


def span_rows(at: datetime, trace: str, calls: list[tuple[str, str | None, str]]) -> list[list[str]]:
    ns = int(at.timestamp() * 1e9)
    return [
        [trace, sid, parent or "root", pod, "op", str(ns), str(ns + 1000), "1"] for sid, parent, pod in calls
    ]


TRACE_HEADER = [
    "TraceID",
    "SpanID",
    "ParentID",
    "PodName",
    "OperationName",
    "StartTimeUnixNano",
    "EndTimeUnixNano",
    "Duration",
]
LOG_HEADER = ["Timestamp", "TimeUnixNano", "Node", "PodName", "Container", "TraceID", "SpanID", "Log"]


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("datasets")
    nezha = root / "nezha"
    construct = nezha / "construct_data"
    construct.mkdir(parents=True)
    (construct / "root_cause_ts.json").write_text(json.dumps({"svc-a": {}, "svc-b": {}}))
    (construct / "root_cause_hipster.json").write_text(json.dumps({"frontend": {}}))
    rca = nezha / "rca_data" / DAY
    rca.mkdir(parents=True)
    faults = [
        {
            "inject_time": "2024-01-01 11:20:00",
            "inject_timestamp": "0",
            "inject_pod": POD_A,
            "inject_type": "exception",
        },
        {
            "inject_time": "2024-01-01 10:40:00",
            "inject_timestamp": "0",
            "inject_pod": POD_B,
            "inject_type": "cpu_contention",
        },
    ]
    (rca / f"{DAY}-fault_list.json").write_text(json.dumps({"10": faults[1:], "11": faults[:1]}))
    day_start, day_end = datetime(2024, 1, 1, 9, 30, tzinfo=UTC), datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    for pod in (POD_A, POD_B):
        rows = [["Time", "TimeStamp", "PodName", "CpuUsageRate(%)", "PodServerLatencyP90(s)", "Note"]]
        for i, at in enumerate(minutes(day_start, day_end)):
            latency = "NaN" if i % 10 == 0 else "0.02"
            rows.append([go_time(at), "1861140279", pod, str(1.0 + i % 3), latency, "ok"])
        write_csv(rca / "metric" / f"{pod}_metric.csv", rows, compress=pod == POD_A)
    front = [
        [
            "Time",
            "TimeStamp",
            "ServiceName",
            "SuccessRate(%)",
            "LatencyP50(s)",
            "LatencyP90(s)",
            "LatencyP95(s)",
            "LatencyP99(s)",
        ]
    ]
    for i, at in enumerate(minutes(day_start, day_end)):
        p90 = 1.5 if at == FIRST.replace(minute=42, second=9) else 0.3 + 0.01 * (i % 2)
        front.append([go_time(at), "0", "Frontend", "0", "0.1", str(p90), str(p90), "0.9"])
    write_csv(rca / "metric" / "front_service.csv", front, compress=False)
    write_csv(
        rca / "metric" / "dependency.csv",
        [["Source", "Target", "Weight"], ["svc-a", "db", "1"]],
        compress=True,
    )
    log_at = FIRST + timedelta(seconds=30)
    envelope = json.dumps({"log": "10:40:30.000 ERROR c.s.B#9 boom\n", "stream": "stdout"})
    write_csv(
        rca / "log" / "10_41_log.csv",
        [LOG_HEADER, ["x", str(int(log_at.timestamp() * 1e9)), "n", POD_B, "server", "t1", "s2", envelope]],
        compress=True,
    )
    write_csv(
        rca / "trace" / "10_41_trace.csv",
        [TRACE_HEADER, *span_rows(log_at, "t1", [("s1", None, POD_A), ("s2", "s1", POD_B)])],
        compress=False,
    )
    # Construct days: the same day has no events; a later one of the same system does; an earlier
    # one belongs to the other system and must not be used.
    write_csv(construct / DAY / "metric" / f"{POD_A}_metric.csv", [["Time"]], compress=True)
    later = construct / "2024-01-02"
    write_csv(later / "metric" / f"{POD_A}_metric.csv", [["Time"]], compress=True)
    write_csv(
        later / "trace" / "08_00_trace.csv",
        [
            TRACE_HEADER,
            *span_rows(FIRST, "t9", [("r1", None, POD_B), ("r2", "r1", "svc-c-84cbf6c798-7njv6")]),
        ],
        compress=True,
    )
    other = construct / "2023-12-31"
    write_csv(other / "metric" / "frontend-579b9bff58-t2dbm_metric.csv", [["Time"]], compress=True)
    write_csv(other / "log" / "08_00_log.csv", [LOG_HEADER], compress=True)
    return root


def window_of(lc: LabeledCase) -> tuple[float, float]:
    times = [t for m in lc.case.telemetry.metrics for t in m.timestamps]
    return min(times), max(times)


def test_tiny_layout_cases_are_ordered_and_anonymous(tiny_root: Path) -> None:
    cases = list(NezhaSource(tiny_root, "tt").cases(time_mode=TimeMode.FOUND))

    assert [lc.case.id for lc in cases] == ["nezha-tt/2024-01-01/#01", "nezha-tt/2024-01-01/#02"]
    assert [lc.truth.service if lc.truth else None for lc in cases] == ["svc-b", "svc-a"]
    assert cases[0].truth is not None
    assert (cases[0].truth.kind, cases[0].truth.started_at) == (FaultKind.CPU, FIRST)
    assert list(NezhaSource(tiny_root, "ob").cases(time_mode=TimeMode.FOUND)) == []


def test_tiny_layout_given_mode_anchors_on_the_inject_time(tiny_root: Path) -> None:
    first = next(iter(NezhaSource(tiny_root, "tt").cases(time_mode=TimeMode.GIVEN)))

    assert first.case.known_onset_at == FIRST
    low, high = window_of(first)
    assert FIRST.timestamp() - 1800 <= low < FIRST.timestamp() - 1740
    assert FIRST.timestamp() + 180 < high <= FIRST.timestamp() + 240


def test_tiny_layout_found_mode_anchors_on_the_alert_or_five_minutes_later(tiny_root: Path) -> None:
    first, second = NezhaSource(tiny_root, "tt").cases(time_mode=TimeMode.FOUND)

    assert first.case.known_onset_at is None
    assert first.case.alert is not None
    fired = first.case.alert.started_at
    assert (fired, first.case.alert.signal, first.case.alert.service) == (
        datetime(2024, 1, 1, 10, 42, 9, tzinfo=UTC),
        "LatencyP90(s)",
        None,
    )
    low, high = window_of(first)
    assert fired.timestamp() - 1800 <= low and high <= fired.timestamp() + 240
    assert second.case.alert is None
    anchor = SECOND + timedelta(minutes=5)
    low, high = window_of(second)
    assert anchor.timestamp() - 1800 <= low and high <= anchor.timestamp() + 240
    assert "11:20" not in second.case.description and "svc-a" not in second.case.description


def test_tiny_layout_maps_metrics_logs_spans_graph_and_baseline(tiny_root: Path) -> None:
    first = next(iter(NezhaSource(tiny_root, "tt").cases(time_mode=TimeMode.GIVEN)))
    telemetry = first.case.telemetry

    assert {(m.service, m.metric) for m in telemetry.metrics} == {
        (service, metric)
        for service in ("svc-a", "svc-b")
        for metric in ("CpuUsageRate(%)", "PodServerLatencyP90(s)")
    }
    latency = next(m for m in telemetry.metrics if m.metric == "PodServerLatencyP90(s)")
    assert len(latency.timestamps) < len(
        next(m for m in telemetry.metrics if m.metric == "CpuUsageRate(%)").timestamps
    )
    (log,) = telemetry.logs
    assert (log.service, log.message, log.level, log.trace_id) == (
        "svc-b",
        "10:40:30.000 ERROR c.s.B#9 boom",
        "ERROR",
        "t1",
    )
    assert [(s.service, s.parent_span_id) for s in telemetry.spans] == [("svc-a", None), ("svc-b", "s1")]
    assert first.case.graph is not None
    assert first.case.graph.edges == {("svc-a", "db"), ("svc-a", "svc-b"), ("svc-b", "svc-c")}
    assert first.case.baseline.logs == ()
    assert [s.span_id for s in first.case.baseline.spans] == ["r1", "r2"]


# The real files --------------------------------------------------------------------------------


def require_datasets() -> Path:
    if not (DATASETS / "nezha").is_dir():
        pytest.skip(f"../shared/datasets not found: {DATASETS / 'nezha'} is absent")
    return DATASETS


@functools.cache
def tt_cases(time_mode: TimeMode) -> tuple[LabeledCase, ...]:
    return tuple(NezhaSource(require_datasets(), "tt").cases(time_mode=time_mode))


def root_cause_services(name: str) -> set[str]:
    return set(json.loads((require_datasets() / "nezha" / "construct_data" / name).read_text()))


@pytest.mark.datasets
def test_real_case_counts_per_system() -> None:
    tt = NezhaSource(require_datasets(), "tt")
    ob = NezhaSource(require_datasets(), "ob")

    assert [d.name for d in tt.days()] == ["2023-01-29"]
    assert [d.name for d in ob.days()] == ["2022-08-22", "2022-08-23"]
    assert sum(len(d.injections) for d in ob.days()) == 56
    assert len(tt_cases(TimeMode.GIVEN)) == 28
    assert tt.name == "nezha-tt" and ob.name == "nezha-ob"


@pytest.mark.datasets
def test_real_truth_services_are_stripped_pod_names_of_the_system() -> None:
    ts_services = root_cause_services("root_cause_ts.json")
    hipster_services = root_cause_services("root_cause_hipster.json")
    ob_truths = {i.service for d in NezhaSource(require_datasets(), "ob").days() for i in d.injections}

    assert {lc.truth.service for lc in tt_cases(TimeMode.GIVEN) if lc.truth} <= ts_services
    assert ob_truths <= hipster_services
    assert "ts-contacts-service" in {lc.truth.service for lc in tt_cases(TimeMode.GIVEN) if lc.truth}


@pytest.mark.datasets
def test_real_cases_keep_the_truth_out_of_the_case() -> None:
    for lc in tt_cases(TimeMode.FOUND):
        assert lc.truth is not None
        inject = lc.truth.started_at
        for text in (lc.case.id, lc.case.description, lc.case.alert.summary if lc.case.alert else ""):
            assert lc.truth.service not in text
            assert inject.strftime("%H:%M") not in text
            assert str(inject.timestamp()) not in text
        assert lc.case.known_onset_at is None


@pytest.mark.datasets
def test_real_found_windows_depend_on_the_alert_not_the_inject_time() -> None:
    for lc in tt_cases(TimeMode.FOUND):
        assert lc.truth is not None
        inject = lc.truth.started_at.timestamp()
        anchor = lc.case.alert.started_at.timestamp() if lc.case.alert else inject + 300
        if lc.case.alert:
            assert inject <= anchor <= inject + 300
        low, high = window_of(lc)
        assert anchor - 1800 <= low and high <= anchor + 240
        assert all(anchor - 1800 <= r.timestamp <= anchor + 240 for r in lc.case.telemetry.logs)
        assert all(anchor - 1800 <= s.start_ns / 1e9 <= anchor + 240 for s in lc.case.telemetry.spans)


@pytest.mark.datasets
def test_real_given_mode_hands_over_the_inject_time() -> None:
    for lc in tt_cases(TimeMode.GIVEN):
        assert lc.truth is not None
        assert lc.case.known_onset_at == lc.truth.started_at
        low, high = window_of(lc)
        assert lc.truth.started_at.timestamp() - 1800 <= low
        assert high <= lc.truth.started_at.timestamp() + 240


@pytest.mark.datasets
def test_real_train_ticket_is_multi_modal_with_a_gateway_in_its_graph() -> None:
    lc = tt_cases(TimeMode.GIVEN)[6]

    assert lc.case.graph is not None
    assert "ts-gateway-service" in lc.case.graph.services
    assert lc.case.graph.callees(ServiceId("ts-gateway-service"))
    assert lc.case.telemetry.logs and lc.case.telemetry.spans
    assert {"CpuUsageRate(%)", "MemoryUsage(Mi)", "PodServerLatencyP90(s)"} <= {
        m.metric for m in lc.case.telemetry.metrics
    }
    assert lc.case.baseline.logs and lc.case.baseline.spans and not lc.case.baseline.metrics
    assert {r.level for r in lc.case.telemetry.logs} >= {"INFO", "ERROR"}


@pytest.mark.datasets
def test_real_train_ticket_alerts_are_latency_alerts() -> None:
    # Its success-rate column is 0 all day, so the success-rate check switches itself off.
    alerts = [lc.case.alert for lc in tt_cases(TimeMode.FOUND) if lc.case.alert]

    assert len(alerts) > 14
    assert {a.signal for a in alerts} <= {"LatencyP90(s)", "LatencyP95(s)"}


@pytest.mark.datasets
def test_real_online_boutique_graph_has_the_dependency_edges_and_reference_traces() -> None:
    source = NezhaSource(require_datasets(), "ob")
    day = source.days()[0]
    dependency = day.folder / "metric" / "dependency.csv.gz"
    with gzip.open(dependency, "rt") as lines:
        declared = {(row["Source"], row["Target"]) for row in csv.DictReader(lines)}

    lc = source.case(day, 1, day.injections[0], time_mode=TimeMode.FOUND)

    assert lc.case.graph is not None
    assert declared <= lc.case.graph.edges
    assert ("frontend", "checkoutservice") in lc.case.graph.edges
    # This day's own construct folder has no logs or traces: the other day's is the reference.
    assert day.reference is not None and day.reference.name != day.name
    assert lc.case.baseline.spans and not lc.case.baseline.metrics


@pytest.mark.datasets
def test_real_alert_statistics_are_plausible() -> None:
    delays = []
    for system, at_least in (("tt", 14), ("ob", 28)):
        source = NezhaSource(require_datasets(), system)
        pairs = [(i, source.alert_for(d, i)) for d in source.days() for i in d.injections]
        fired = [(i, a) for i, a in pairs if a]
        assert len(fired) >= at_least
        delays += [(a.started_at - i.at).total_seconds() for i, a in fired]
    assert all(0 <= d <= 300 for d in delays)
    assert 20 <= statistics.median(delays) <= 240
