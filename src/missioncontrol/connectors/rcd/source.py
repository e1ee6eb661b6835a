"""RcdSource: the 50 RCD Sock Shop cases under `<root>/rcd-sockshop/sock-shop-data/`."""

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path

from missioncontrol.connectors.rcd.mapping import TIME_COLUMN, MetricTable, lay_out, onset, to_truth
from missioncontrol.domain import Case, CaseFormatError, LabeledCase, TimeMode

NAME = "rcd-sockshop"
SYSTEM = "sock-shop"
LAYOUT = ("rcd-sockshop", "sock-shop-data")


class RcdSource:
    """A CaseSource over RCD Sock Shop runs: `<service>-<fault>/<n>/{normal,anomalous}.csv[.gz]`.

    Each run's metrics are the normal rows laid immediately before the anomalous rows. There is no
    alert and no call graph in the data: with `TimeMode.FOUND` the engine gets neither an onset nor
    an alert and must find both in the metrics.
    """

    name = NAME

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def folder(self) -> Path:
        return self.root.joinpath(*LAYOUT)

    def cases(self, *, time_mode: TimeMode) -> Iterator[LabeledCase]:
        """Yield every run in order of fault folder, then run number; ids do not reveal the truth."""
        for number, run in enumerate(run_folders(self.folder), start=1):
            yield read_run(run, number=number, time_mode=time_mode)


def run_folders(folder: Path) -> list[Path]:
    """Return every `<service>-<fault>/<n>` run folder, sorted by fault folder then run number."""
    if not folder.is_dir():
        raise CaseFormatError(str(folder), "not found: expected <service>-<fault>/<n>/ run folders")
    runs = [run for fault in folder.iterdir() if fault.is_dir() for run in fault.iterdir() if run.is_dir()]
    # Numeric run order, so that run 10 would follow run 9.
    return sorted(
        runs, key=lambda run: (run.parent.name, int(run.name) if run.name.isdigit() else 0, run.name)
    )


def read_run(run: Path, *, number: int, time_mode: TimeMode) -> LabeledCase:
    """Read one run folder as a labelled case numbered `number`."""
    normal = read_table(_csv_path(run, "normal"))
    anomalous = read_table(_csv_path(run, "anomalous"))
    case = Case(
        id=f"{NAME}/#{number:02d}",
        system=SYSTEM,
        telemetry=lay_out(normal, anomalous),
        graph=None,
        known_onset_at=onset(anomalous) if time_mode is TimeMode.GIVEN else None,
        description=f"RCD Sock Shop run #{number:02d}: metrics only, 1 s step",
    )
    return LabeledCase(case=case, truth=to_truth(run.parent.name, anomalous))


def read_table(path: Path) -> MetricTable:
    """Read a `time,<container>_<metric>,...` CSV (plain or gzipped) into numbers; empty cells are NaN."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as error:
        raise CaseFormatError(str(path), f"cannot be read: {error}") from None
    if not rows:
        raise CaseFormatError(str(path), "is empty: expected a header row")
    header = tuple(name.strip() for name in rows[0])
    if not header or header[0] != TIME_COLUMN:
        raise CaseFormatError(
            str(path), "the first column must be 'time'", column=header[0] if header else None
        )
    times: list[float] = []
    values: list[tuple[float, ...]] = []
    for number, cells in enumerate(rows[1:], start=1):
        if not cells:
            continue
        if len(cells) != len(header):
            raise CaseFormatError(str(path), f"expected {len(header)} cells, found {len(cells)}", row=number)
        numbers = []
        for column, cell in zip(header, cells, strict=True):
            try:
                numbers.append(float(cell) if cell.strip() else float("nan"))
            except ValueError:
                raise CaseFormatError(
                    str(path), f"{cell!r} is not a number", column=column, row=number
                ) from None
        times.append(numbers[0])
        values.append(tuple(numbers[1:]))
    return MetricTable(path=str(path), columns=header[1:], times=tuple(times), rows=tuple(values))


def _csv_path(run: Path, stem: str) -> Path:
    for name in (f"{stem}.csv", f"{stem}.csv.gz"):
        if (run / name).is_file():
            return run / name
    raise CaseFormatError(str(run / f"{stem}.csv"), "missing: a run needs normal.csv and anomalous.csv")
