"""Tests for the RCD Sock Shop loader: pure layout rules, then facts of the real files."""

import functools
import gzip
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from missioncontrol.connectors.rcd import RcdSource, lay_out, sampling_step, split_column
from missioncontrol.connectors.rcd.mapping import MetricTable
from missioncontrol.domain import CaseFormatError, FaultKind, LabeledCase, TimeMode

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def table(path: str, times: list[float], values: list[float]) -> MetricTable:
    return MetricTable(
        path=path, columns=("carts_cpu",), times=tuple(times), rows=tuple((v,) for v in values)
    )


@pytest.mark.parametrize(
    ("column", "service", "metric"),
    [
        ("carts-db_cpu", "carts-db", "cpu"),
        ("carts_lat_90", "carts", "lat_90"),
        ("carts_lod", "carts", "lod"),
        ("queue-master_mem", "queue-master", "mem"),
    ],
)
def test_split_column_takes_the_container_before_the_first_underscore(
    column: str, service: str, metric: str
) -> None:
    assert split_column(column) == (service, metric)


def test_split_column_rejects_a_name_without_metric() -> None:
    with pytest.raises(ValueError, match="not <container>_<metric>"):
        split_column("carts")


def test_normal_rows_end_one_step_before_the_anomalous_rows() -> None:
    normal = table("n", [100, 101, 102], [1, 2, 3])
    anomalous = table("a", [5000, 5001], [9, 8])

    series = lay_out(normal, anomalous).metrics[0]

    assert series.timestamps == (4997.0, 4998.0, 4999.0, 5000.0, 5001.0)
    assert series.values == (1.0, 2.0, 3.0, 9.0, 8.0)


def test_anomalous_file_timestamped_first_is_laid_after_the_normal_rows() -> None:
    normal = table("n", [900, 902, 904], [1, 2, 3])
    anomalous = table("a", [100, 102], [9, 8])

    series = lay_out(normal, anomalous).metrics[0]

    assert series.timestamps == (94, 96, 98, 100, 102)


def test_nan_cells_are_missing_samples() -> None:
    series = lay_out(table("n", [1, 2], [1, math.nan]), table("a", [10, 11], [math.nan, 4])).metrics[0]

    assert series.timestamps == (8, 11)


def test_sampling_step_is_the_median_gap() -> None:
    assert sampling_step([0, 1, 2, 5], [10, 11]) == 1


def test_mismatched_columns_are_an_error() -> None:
    other = MetricTable(path="a.csv", columns=("user_cpu",), times=(1, 2), rows=((1,), (2,)))

    with pytest.raises(CaseFormatError, match="columns differ"):
        lay_out(table("n.csv", [0, 1], [1, 1]), other)


def test_bad_number_names_file_row_and_column(tmp_path: Path) -> None:
    run = tmp_path / "rcd-sockshop" / "sock-shop-data" / "carts-cpu" / "1"
    run.mkdir(parents=True)
    (run / "normal.csv").write_text("time,carts_cpu\n1,0.5\n2,0.6\n")
    (run / "anomalous.csv.gz").write_bytes(gzip.compress(b"time,carts_cpu\n10,0.5\n11,lots\n"))

    with pytest.raises(CaseFormatError, match=r"anomalous\.csv\.gz, row 2, column 'carts_cpu': 'lots'"):
        list(RcdSource(tmp_path).cases(time_mode=TimeMode.GIVEN))


def test_small_layout_reads_plain_and_gzip(tmp_path: Path) -> None:
    run = tmp_path / "rcd-sockshop" / "sock-shop-data" / "carts-db-mem" / "1"
    run.mkdir(parents=True)
    (run / "normal.csv").write_text("time,carts-db_mem,carts_lat_90\n1,5,0.1\n2,5,0.1\n")
    (run / "anomalous.csv.gz").write_bytes(
        gzip.compress(b"time,carts-db_mem,carts_lat_90\n10,9,0.1\n11,9,\n")
    )

    (labeled,) = RcdSource(tmp_path).cases(time_mode=TimeMode.GIVEN)

    assert labeled.case.id == "rcd-sockshop/#01"
    assert labeled.truth is not None
    assert (labeled.truth.service, labeled.truth.fault, labeled.truth.kind) == (
        "carts-db",
        "mem",
        FaultKind.MEMORY,
    )
    assert labeled.case.known_onset_at == datetime.fromtimestamp(10, tz=UTC)
    assert [(m.service, m.metric, m.timestamps) for m in labeled.case.telemetry.metrics] == [
        ("carts-db", "mem", (8.0, 9.0, 10.0, 11.0)),
        ("carts", "lat_90", (8.0, 9.0, 10.0)),
    ]


# Real files --------------------------------------------------------------------------------------


def require_datasets() -> Path:
    if not (DATASETS / "rcd-sockshop").is_dir():
        pytest.skip(f"../shared/datasets not found: {DATASETS / 'rcd-sockshop'} is absent")
    return DATASETS


@functools.cache
def real_cases(time_mode: TimeMode) -> tuple[LabeledCase, ...]:
    return tuple(RcdSource(require_datasets()).cases(time_mode=time_mode))


@pytest.mark.datasets
def test_real_dataset_has_fifty_cases_of_five_services_and_two_faults() -> None:
    cases = real_cases(TimeMode.GIVEN)

    assert len(cases) == 50
    truths = [lc.truth for lc in cases if lc.truth is not None]
    assert {t.service for t in truths} == {"carts", "catalogue", "orders", "payment", "user"}
    assert {(t.fault, t.kind) for t in truths} == {("cpu", FaultKind.CPU), ("mem", FaultKind.MEMORY)}
    assert [lc.case.id for lc in cases[:2]] == ["rcd-sockshop/#01", "rcd-sockshop/#02"]


@pytest.mark.datasets
def test_real_cases_never_carry_the_truth_in_the_case() -> None:
    for lc in real_cases(TimeMode.FOUND):
        assert lc.truth is not None
        assert lc.truth.service not in lc.case.id
        assert lc.truth.service not in lc.case.description
        assert lc.truth.fault not in lc.case.id
        assert lc.case.graph is None
        assert lc.case.alert is None
        assert lc.case.known_onset_at is None


@pytest.mark.datasets
def test_given_onset_is_the_first_anomalous_row_and_normal_rows_precede_it() -> None:
    for lc in real_cases(TimeMode.GIVEN):
        assert lc.truth is not None
        onset = lc.truth.started_at.timestamp()
        assert lc.case.known_onset_at == lc.truth.started_at
        for series in lc.case.telemetry.metrics:
            assert list(series.timestamps) == sorted(series.timestamps)
            before = [t for t in series.timestamps if t < onset]
            assert before, f"{lc.case.id}: no normal rows before the onset"
            assert before[-1] == onset - 1  # one 1 s step, no gap, no overlap


def first_time(path: Path) -> float:
    with gzip.open(path, "rt") as lines:
        next(lines)
        return float(next(lines).split(",")[0])


@pytest.mark.datasets
def test_orders_mem_5_is_laid_out_normal_then_anomalous() -> None:
    # The one run whose anomalous file is timestamped before its normal file.
    folder = require_datasets() / "rcd-sockshop" / "sock-shop-data" / "orders-mem" / "5"
    first_anomalous = first_time(folder / "anomalous.csv.gz")
    first_normal = first_time(folder / "normal.csv.gz")
    assert first_anomalous < first_normal
    (lc,) = [
        lc
        for lc in real_cases(TimeMode.GIVEN)
        if lc.truth and lc.truth.started_at.timestamp() == first_anomalous
    ]

    series = next(s for s in lc.case.telemetry.metrics if (s.service, s.metric) == ("orders", "mem"))

    n_normal = sum(1 for t in series.timestamps if t < first_anomalous)
    assert n_normal > 200
    assert series.timestamps[n_normal - 1] == first_anomalous - 1
    assert max(series.timestamps) < first_normal
