"""Map RCD Sock Shop normal/anomalous metric tables to telemetry and truth. Pure; no I/O.

The two files of a run come from different time ranges. They are laid end to end by one rule: the
normal rows are shifted so that the last of them falls one sampling step before the first anomalous
row, whose timestamps are kept. This also repairs runs where the anomalous file is timestamped
before the normal one (`orders-mem/5`).
"""

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from missioncontrol.domain import CaseFormatError, MetricSeries, ServiceId, Telemetry, Truth
from missioncontrol.domain.labels import fault_kind_from_label

TIME_COLUMN = "time"


@dataclass(frozen=True, slots=True)
class MetricTable:
    """One CSV file of a run: its path, the metric column names and the rows as numbers."""

    path: str
    columns: tuple[str, ...]  # without the time column
    times: tuple[float, ...]
    rows: tuple[tuple[float, ...], ...]  # one value per column; NaN where missing


def split_column(name: str) -> tuple[ServiceId, str]:
    """Split `<container>_<metric>` at the first underscore: `carts_lat_90` → (`carts`, `lat_90`).

    Container names use hyphens (`carts-db`), never underscores, so the first underscore ends them.
    """
    service, sep, metric = name.partition("_")
    if not sep or not service or not metric:
        raise ValueError(f"column {name!r} is not <container>_<metric>")
    return ServiceId(service), metric


def split_fault_folder(name: str) -> tuple[ServiceId, str]:
    """Split a `<service>-<fault>` folder name at its last hyphen: `carts-db-mem` → (`carts-db`, `mem`)."""
    service, sep, fault = name.rpartition("-")
    if not sep or not service or not fault:
        raise ValueError(f"folder {name!r} is not <service>-<fault>")
    return ServiceId(service), fault


def sampling_step(*times: Sequence[float]) -> float:
    """Return the median positive gap between consecutive timestamps over all given sequences."""
    gaps = [b - a for one in times for a, b in itertools.pairwise(one) if b > a]
    if not gaps:
        raise ValueError("cannot tell the sampling step: fewer than two distinct timestamps")
    return statistics.median(gaps)


def lay_out(normal: MetricTable, anomalous: MetricTable) -> Telemetry:
    """Return the normal rows, shifted to end one step before the anomalous rows, then those rows."""
    if normal.columns != anomalous.columns:
        raise CaseFormatError(anomalous.path, f"columns differ from {normal.path}")
    if not normal.times or not anomalous.times:
        empty = normal if not normal.times else anomalous
        raise CaseFormatError(empty.path, "has no data rows")
    try:
        step = sampling_step(normal.times, anomalous.times)
    except ValueError as error:
        raise CaseFormatError(anomalous.path, str(error)) from None
    shift = (min(anomalous.times) - step) - max(normal.times)
    times = [t + shift for t in normal.times] + list(anomalous.times)
    rows = normal.rows + anomalous.rows
    series = []
    for position, column in enumerate(normal.columns):
        try:
            service, metric = split_column(column)
        except ValueError as error:
            raise CaseFormatError(normal.path, str(error), column=column) from None
        points = sorted(
            (t, row[position]) for t, row in zip(times, rows, strict=True) if not math.isnan(row[position])
        )
        series.append(
            MetricSeries(
                service=service,
                metric=metric,
                timestamps=tuple(t for t, _ in points),
                values=tuple(v for _, v in points),
            )
        )
    return Telemetry(metrics=tuple(series))


def onset(anomalous: MetricTable) -> datetime:
    """Return when the fault became active: the first anomalous row."""
    return datetime.fromtimestamp(min(anomalous.times), tz=UTC)


def to_truth(fault_folder: str, anomalous: MetricTable) -> Truth:
    """Return the truth named by the `<service>-<fault>` folder, starting at the first anomalous row."""
    service, fault = split_fault_folder(fault_folder)
    return Truth(service=service, fault=fault, kind=fault_kind_from_label(fault), started_at=onset(anomalous))
