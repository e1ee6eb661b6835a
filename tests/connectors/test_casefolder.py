"""Tests for the case folder reader, writer and source."""

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from missioncontrol.connectors.casefolder import CaseFolderSource, read_case, write_case
from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Case,
    CaseFormatError,
    Change,
    ChangeKind,
    FaultKind,
    LabeledCase,
    LogRecord,
    MetricSeries,
    ServiceGraph,
    ServiceId,
    Severity,
    Span,
    Telemetry,
    TimeMode,
    Truth,
)
from missioncontrol.domain.labels import fault_kind_from_label

T0 = 1_700_000_000.0


def make_folder(path: Path, files: dict[str, str], *, compress: bool = False) -> Path:
    """Write a case folder from {relative name: text}; CSVs are gzipped when `compress`."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if compress and name.endswith(".csv"):
            target.with_name(target.name + ".gz").write_bytes(gzip.compress(text.encode()))
        else:
            target.write_text(text)
    return path


METRICS = (
    "time,service,metric,value\n"
    f"{T0 + 60},cart,cpu,0.5\n"
    f"{T0},cart,cpu,0.4\n"
    f"{T0},cart,latency_p99,0.2\n"
    f"{T0 + 60},cart,latency_p99,\n"
    f"{T0},front,cpu,NaN\n"
)
ALERT = {"service": "front", "signal": "latency_p99", "fired_at": T0 + 120, "summary": "slow"}
TRUTH = {"service": "cart", "fault": "cpu_contention", "started_at": T0 + 60}


def full_case_files() -> dict[str, str]:
    return {
        "metrics.csv": METRICS,
        "logs.csv": f"time,service,message,level\n{T0},cart,boom,ERROR\n",
        "spans.csv": (
            "trace_id,span_id,parent_span_id,service,operation,start_ns,end_ns,status\n"
            "t1,a,,front,GET /,100,900,ok\n"
            "t1,b,a,cart,GetCart,200,800,error\n"
        ),
        "graph.csv": "caller,callee\nfront,cart\n",
        "changes.csv": f"time,service,kind,description\n{T0},cart,deploy,v2\n{T0},cart,rollout,?\n",
        "alert.json": json.dumps(ALERT),
        "truth.json": json.dumps(TRUTH),
    }


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_read_case_maps_every_file(tmp_path: Path, compress: bool) -> None:
    folder = make_folder(tmp_path / "cases" / "c1", full_case_files(), compress=compress)

    labeled = read_case(folder, time_mode=TimeMode.FOUND)

    case = labeled.case
    assert (case.id, case.system) == ("c1", "cases")
    assert case.telemetry.metrics == (
        MetricSeries(ServiceId("cart"), "cpu", (T0, T0 + 60), (0.4, 0.5)),
        MetricSeries(ServiceId("cart"), "latency_p99", (T0,), (0.2,)),
    )
    assert case.telemetry.logs == (LogRecord(T0, ServiceId("cart"), "boom", level="ERROR"),)
    assert [(s.span_id, s.parent_span_id, s.is_error) for s in case.telemetry.spans] == [
        ("a", None, False),
        ("b", "a", True),
    ]
    assert case.graph == ServiceGraph.from_edges([("front", "cart")])
    assert [c.kind for c in case.changes] == [ChangeKind.DEPLOY, ChangeKind.OTHER]
    assert case.alert is not None
    assert case.alert.service == "front"
    assert case.alert.signal == "latency_p99"
    assert case.alert.severity is Severity.WARNING
    assert case.alert.status is AlertStatus.FIRING
    assert case.alert.started_at == datetime.fromtimestamp(T0 + 120, tz=UTC)
    assert case.known_onset_at is None
    assert case.baseline == Telemetry()
    assert labeled.truth == Truth(
        ServiceId("cart"), "cpu_contention", FaultKind.CPU, datetime.fromtimestamp(T0 + 60, tz=UTC)
    )


def test_given_mode_hands_over_the_true_start(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "c1", full_case_files())

    case = read_case(folder, time_mode=TimeMode.GIVEN).case

    assert case.known_onset_at == datetime.fromtimestamp(T0 + 60, tz=UTC)


def test_minimal_case_has_no_graph_alert_or_truth(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "c1", {"metrics.csv": METRICS})

    labeled = read_case(folder, time_mode=TimeMode.GIVEN)

    assert labeled.case.graph is None
    assert labeled.case.alert is None
    assert labeled.case.known_onset_at is None
    assert labeled.truth is None


def test_alert_fingerprint_is_stable_and_follows_content(tmp_path: Path) -> None:
    a = make_folder(tmp_path / "a", {"metrics.csv": METRICS, "alert.json": json.dumps(ALERT)})
    b = make_folder(tmp_path / "b", {"metrics.csv": METRICS, "alert.json": json.dumps(ALERT, indent=4)})
    c = make_folder(
        tmp_path / "c", {"metrics.csv": METRICS, "alert.json": json.dumps({**ALERT, "summary": "x"})}
    )

    def fingerprint(folder: Path) -> str:
        alert = read_case(folder, time_mode=TimeMode.FOUND).case.alert
        assert alert is not None
        return alert.fingerprint

    assert fingerprint(a) == fingerprint(b) != fingerprint(c)


def test_alert_severity_and_null_service(tmp_path: Path) -> None:
    document = {**ALERT, "service": None, "severity": "critical"}
    folder = make_folder(tmp_path / "c1", {"metrics.csv": METRICS, "alert.json": json.dumps(document)})

    alert = read_case(folder, time_mode=TimeMode.FOUND).case.alert

    assert alert is not None
    assert alert.service is None
    assert alert.severity is Severity.CRITICAL


def test_baseline_subfolder_is_read(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "c1",
        {
            "metrics.csv": METRICS,
            "baseline/logs.csv": f"time,service,message\n{T0 - 3600},cart,fine\n",
            "baseline/spans.csv": (
                "trace_id,span_id,parent_span_id,service,operation,start_ns,end_ns\nt0,x,,cart,op,1,2\n"
            ),
        },
    )
    make_folder(
        folder / "baseline",
        {"metrics.csv": f"time,service,metric,value\n{T0 - 3600},cart,cpu,1\n"},
        compress=True,
    )

    baseline = read_case(folder, time_mode=TimeMode.FOUND).case.baseline

    assert baseline.metrics == (MetricSeries(ServiceId("cart"), "cpu", (T0 - 3600,), (1.0,)),)
    assert [r.message for r in baseline.logs] == ["fine"]
    assert [s.span_id for s in baseline.spans] == ["x"]


def sample_labeled_case() -> LabeledCase:
    at = datetime.fromtimestamp(T0 + 120, tz=UTC)
    telemetry = Telemetry(
        metrics=(
            MetricSeries(ServiceId("cart"), "CpuUsageRate(%)", (T0, T0 + 60.5), (0.1, 1 / 3)),
            MetricSeries(ServiceId("front"), "latency_p90", (T0,), (1e-9,)),
        ),
        logs=(
            LogRecord(T0 + 0.123456, ServiceId("cart"), 'multi\nline, "quoted"', "WARN", "t1", "s1"),
            LogRecord(T0, ServiceId("front"), "plain"),
        ),
        spans=(
            Span(
                "t1",
                "a",
                None,
                ServiceId("front"),
                "GET /",
                1_700_000_000_000_000_001,
                1_700_000_000_500_000_000,
            ),
            Span(
                "t1",
                "b",
                "a",
                ServiceId("cart"),
                "Get",
                1_700_000_000_100_000_000,
                1_700_000_000_400_000_000,
                True,
            ),
            Span(
                "t1",
                "c",
                "a",
                ServiceId("cart"),
                "Put",
                1_700_000_000_100_000_000,
                1_700_000_000_400_000_000,
                False,
            ),
        ),
    )
    case = Case(
        id="c1",
        system="shop",
        telemetry=telemetry,
        graph=ServiceGraph.from_edges([("front", "cart"), ("cart", "db")]),
        changes=(Change(ServiceId("cart"), ChangeKind.CONFIG, at, "pool size 10 → 2"),),
        alert=Alert(
            fingerprint="f",
            name="FrontLatency",
            severity=Severity.CRITICAL,
            status=AlertStatus.FIRING,
            service=None,
            signal="latency_p90",
            started_at=at,
            received_at=at,
            summary="p90 above 1s",
            labels={"team": "web"},
        ),
        baseline=Telemetry(logs=(LogRecord(T0 - 3600, ServiceId("cart"), "ok"),)),
    )
    truth = Truth(ServiceId("cart"), "pool_exhausted", FaultKind.BAD_CHANGE, at)
    return LabeledCase(case=case, truth=truth)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_write_then_read_round_trips(tmp_path: Path, compress: bool) -> None:
    original = sample_labeled_case()
    folder = tmp_path / "shop" / "c1"

    write_case(original, folder, compress=compress)
    back = read_case(folder, time_mode=TimeMode.FOUND)

    assert back.case.telemetry == original.case.telemetry
    assert back.case.baseline == original.case.baseline
    assert back.case.graph == original.case.graph
    assert back.case.changes == original.case.changes
    assert back.truth == original.truth
    assert back.case.alert is not None and original.case.alert is not None
    assert back.case.alert.started_at == original.case.alert.started_at
    assert (back.case.alert.name, back.case.alert.signal, back.case.alert.summary) == (
        "FrontLatency",
        "latency_p90",
        "p90 above 1s",
    )
    assert back.case.alert.labels == {"team": "web"}
    assert (back.case.id, back.case.system) == ("c1", "shop")
    suffix = ".csv.gz" if compress else ".csv"
    assert (folder / f"metrics{suffix}").is_file()
    assert (folder / "baseline" / f"logs{suffix}").is_file()
    assert not (folder / "baseline" / f"metrics{suffix}").exists()


def test_write_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "c1").mkdir()
    (tmp_path / "c1" / "old.txt").write_text("x")

    with pytest.raises(FileExistsError):
        write_case(sample_labeled_case(), tmp_path / "c1")


def test_source_reads_a_folder_of_cases_in_name_order(tmp_path: Path) -> None:
    for name in ("b", "a", "c"):
        make_folder(tmp_path / "set" / name, {"metrics.csv": METRICS, "truth.json": json.dumps(TRUTH)})

    source = CaseFolderSource(tmp_path / "set")
    cases = list(source.cases(time_mode=TimeMode.GIVEN))

    assert [lc.case.id for lc in cases] == ["a", "b", "c"]
    assert all(lc.case.known_onset_at is not None for lc in cases)
    assert source.name.startswith("cases:")


def test_source_reads_a_single_case_folder(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "one", {"metrics.csv": METRICS}, compress=True)

    assert [lc.case.id for lc in CaseFolderSource(folder).cases(time_mode=TimeMode.FOUND)] == ["one"]


def test_source_names_a_sub_folder_that_is_not_a_case(tmp_path: Path) -> None:
    make_folder(tmp_path / "set" / "a", {"metrics.csv": METRICS})
    make_folder(tmp_path / "set" / "b", {"metric.csv": METRICS})

    with pytest.raises(CaseFormatError, match=r"set/b/metrics\.csv: missing"):
        list(CaseFolderSource(tmp_path / "set").cases(time_mode=TimeMode.FOUND))


GOOD_SPANS_HEADER = "trace_id,span_id,parent_span_id,service,operation,start_ns,end_ns,status\n"

# (file name, content, expected message tail: "<file>[, row N][, column 'c']: <problem>")
MALFORMED = [
    ("metrics.csv", "time,service,metric\n1,a,cpu\n", "metrics.csv, column 'value': missing required column"),
    (
        "metrics.csv",
        "time,service,metric,value\n1,a,cpu,1\n2,a,cpu,abc\n",
        "metrics.csv, row 2, column 'value': 'abc' is not a number",
    ),
    (
        "metrics.csv",
        "time,service,metric,value\nnoon,a,cpu,1\n",
        "metrics.csv, row 1, column 'time': 'noon' is not a number",
    ),
    (
        "metrics.csv",
        "time,service,metric,value\ninf,a,cpu,1\n",
        "metrics.csv, row 1, column 'time': 'inf' is not a finite Unix time",
    ),
    (
        "metrics.csv",
        "time,service,metric,value\n1,,cpu,1\n",
        "metrics.csv, row 1, column 'service': is empty",
    ),
    (
        "metrics.csv",
        "time,service,metric,value\n1,a,cpu,1\n\n3,a,cpu\n",
        "metrics.csv, row 3: expected 4 cells, found 3",
    ),
    ("metrics.csv", "time,service,metric,value,value\n", "metrics.csv, column 'value': column appears twice"),
    ("metrics.csv", "", "metrics.csv: is empty: expected a header row"),
    ("logs.csv", "time,service\n1,a\n", "logs.csv, column 'message': missing required column"),
    (
        "logs.csv",
        "time,service,message\n1,a,ok\nx,a,ok\n",
        "logs.csv, row 2, column 'time': 'x' is not a number",
    ),
    (
        "spans.csv",
        "trace_id,span_id,service,operation,start_ns,end_ns\n",
        "spans.csv, column 'parent_span_id': missing required column",
    ),
    (
        "spans.csv",
        GOOD_SPANS_HEADER + "t,a,,s,op,10,5,\n",
        "spans.csv, row 1, column 'end_ns': end 5 is before",
    ),
    (
        "spans.csv",
        GOOD_SPANS_HEADER + "t,a,,s,op,1.5,5,\n",
        "spans.csv, row 1, column 'start_ns': '1.5' is not an integer",
    ),
    (
        "spans.csv",
        GOOD_SPANS_HEADER + "t,a,,s,op,1,5,bad\n",
        "spans.csv, row 1, column 'status': 'bad' is not one of",
    ),
    ("spans.csv", GOOD_SPANS_HEADER + "t,,,s,op,1,5,\n", "spans.csv, row 1, column 'span_id': is empty"),
    ("graph.csv", "caller\nfront\n", "graph.csv, column 'callee': missing required column"),
    ("graph.csv", "caller,callee\nfront,\n", "graph.csv, row 1, column 'callee': is empty"),
    (
        "changes.csv",
        "time,service,kind,description\nyesterday,a,deploy,x\n",
        "changes.csv, row 1, column 'time': 'yesterday' is not a number",
    ),
    ("changes.csv", "time,service,description\n", "changes.csv, column 'kind': missing required column"),
    ("alert.json", "{not json", "alert.json: is not valid JSON: Expecting property name"),
    ("alert.json", "[1, 2]", "alert.json: expected a JSON object, found list"),
    ("alert.json", json.dumps({"signal": "p99"}), "alert.json: missing required key 'fired_at'"),
    ("alert.json", json.dumps({"fired_at": 1}), "alert.json: missing required key 'signal'"),
    (
        "alert.json",
        json.dumps({"signal": "p99", "fired_at": "noon"}),
        "alert.json: key 'fired_at': 'noon' is not a number of Unix seconds",
    ),
    (
        "alert.json",
        json.dumps({"signal": "p99", "fired_at": True}),
        "alert.json: key 'fired_at': True is not a number",
    ),
    (
        "alert.json",
        json.dumps({"signal": "p99", "fired_at": 1, "severity": "sev1"}),
        "alert.json: key 'severity': 'sev1' is not one of",
    ),
    (
        "alert.json",
        json.dumps({"signal": "p99", "fired_at": 1, "service": 7}),
        "alert.json: key 'service': 7 is not a string or null",
    ),
    (
        "truth.json",
        json.dumps({"service": "a", "fault": "cpu"}),
        "truth.json: missing required key 'started_at'",
    ),
    ("truth.json", json.dumps({"service": "a", "started_at": 1}), "truth.json: missing required key 'fault'"),
    (
        "truth.json",
        json.dumps({"fault": "cpu", "started_at": 1}),
        "truth.json: missing required key 'service'",
    ),
    (
        "truth.json",
        json.dumps({"service": "", "fault": "cpu", "started_at": 1}),
        "truth.json: key 'service': '' is not a non-empty string",
    ),
    (
        "truth.json",
        json.dumps({"service": "a", "fault": "cpu", "started_at": 1, "kind": "gremlins"}),
        "truth.json: key 'kind': 'gremlins' is not one of",
    ),
]


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize(("name", "content", "message"), MALFORMED, ids=[m[2][:60] for m in MALFORMED])
def test_malformed_file_error_names_file_column_and_row(
    tmp_path: Path, name: str, content: str, message: str, compress: bool
) -> None:
    files = {"metrics.csv": METRICS, name: content}
    folder = make_folder(tmp_path / "c1", files, compress=compress)

    with pytest.raises(CaseFormatError) as caught:
        read_case(folder, time_mode=TimeMode.GIVEN)

    text = str(caught.value)
    assert "\n" not in text
    file_part = message.partition(":")[0]
    head = file_part.split(",")[0]
    stored = head + ".gz" if compress and head.endswith(".csv") else head
    assert text.startswith(str(folder / stored))
    assert message.replace(head, stored, 1) in text


def test_missing_metrics_is_an_error(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "c1", {"logs.csv": "time,service,message\n"})

    with pytest.raises(CaseFormatError, match=r"c1/metrics\.csv: missing"):
        read_case(folder, time_mode=TimeMode.FOUND)


def test_both_plain_and_gzip_is_an_error(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "c1", {"metrics.csv": METRICS})
    make_folder(folder, {"metrics.csv": METRICS}, compress=True)

    with pytest.raises(CaseFormatError, match=r"both metrics\.csv and metrics\.csv\.gz exist"):
        read_case(folder, time_mode=TimeMode.FOUND)


def test_corrupt_gzip_is_an_error(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "c1", {"metrics.csv": METRICS})
    (folder / "logs.csv.gz").write_bytes(b"not gzip at all")

    with pytest.raises(CaseFormatError, match=r"logs\.csv\.gz: cannot be read"):
        read_case(folder, time_mode=TimeMode.FOUND)


def test_error_carries_its_parts(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "c1", {"metrics.csv": "time,service,metric,value\n1,a,cpu,x\n"})

    with pytest.raises(CaseFormatError) as caught:
        read_case(folder, time_mode=TimeMode.FOUND)

    assert (caught.value.column, caught.value.row) == ("value", 1)
    assert caught.value.path == str(folder / "metrics.csv")


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("cpu_contention", FaultKind.CPU),
        ("cpu_consumed", FaultKind.CPU),
        ("cpu", FaultKind.CPU),
        ("mem", FaultKind.MEMORY),
        ("memory_leak", FaultKind.MEMORY),
        ("network_delay", FaultKind.NETWORK),
        ("delay", FaultKind.NETWORK),
        ("loss", FaultKind.NETWORK),
        ("packet_loss", FaultKind.NETWORK),
        ("return", FaultKind.WRONG_OUTPUT),
        ("wrong_output", FaultKind.WRONG_OUTPUT),
        ("exception", FaultKind.ERRORS),
        ("http_error", FaultKind.ERRORS),
        ("latency", FaultKind.LATENCY),
        ("bad_change", FaultKind.BAD_CHANGE),
        ("disk_full", FaultKind.UNKNOWN),
    ],
)
def test_fault_label_maps_to_kind(label: str, kind: FaultKind) -> None:
    assert fault_kind_from_label(label) is kind
