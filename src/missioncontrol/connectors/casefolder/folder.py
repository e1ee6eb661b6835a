"""Read and write one incident case folder (CSV and JSON files, each CSV plain or gzipped)."""

import csv
import gzip
import io
import json
from collections.abc import Iterable
from pathlib import Path

from missioncontrol.connectors.casefolder import mapping
from missioncontrol.connectors.casefolder.mapping import Table
from missioncontrol.domain import (
    Case,
    CaseFormatError,
    LabeledCase,
    MetricSeries,
    Telemetry,
    TimeMode,
)

BASELINE = "baseline"


def is_case_folder(path: Path) -> bool:
    """Return True if `path` holds a case: a folder with metrics.csv or metrics.csv.gz."""
    return path.is_dir() and any((path / name).is_file() for name in ("metrics.csv", "metrics.csv.gz"))


def read_case(path: Path, *, time_mode: TimeMode) -> LabeledCase:
    """Read the case folder at `path`, keeping the truth apart from what the engine may see.

    The case id is the folder's name and its system the name of the folder holding it. With
    `TimeMode.GIVEN` the truth's start is handed over as `known_onset_at`.
    """
    folder = path.resolve()
    if not folder.is_dir():
        raise CaseFormatError(str(path), "is not a case folder")
    telemetry = _read_telemetry(folder, require_metrics=True)
    baseline_folder = folder / BASELINE
    baseline = (
        _read_telemetry(baseline_folder, require_metrics=False) if baseline_folder.is_dir() else Telemetry()
    )
    graph_table = _read_table(folder, "graph")
    changes_table = _read_table(folder, "changes")
    alert_path, alert_document = _read_json(folder, "alert.json")
    truth_path, truth_document = _read_json(folder, "truth.json")
    truth = mapping.to_truth(truth_document, path=truth_path) if truth_document is not None else None
    case = Case(
        id=folder.name,
        system=folder.parent.name,
        telemetry=telemetry,
        graph=mapping.to_graph(graph_table) if graph_table else None,
        changes=mapping.to_changes(changes_table) if changes_table else (),
        alert=mapping.to_alert(alert_document, path=alert_path) if alert_document is not None else None,
        known_onset_at=truth.started_at if truth and time_mode is TimeMode.GIVEN else None,
        baseline=baseline,
    )
    return LabeledCase(case=case, truth=truth)


def write_case(labeled: LabeledCase, path: Path, *, compress: bool = False) -> None:
    """Write `labeled` as a case folder at `path`, which must not exist yet or be empty.

    Refusing a non-empty folder keeps stale files (say an old logs.csv.gz next to a new logs.csv)
    from being read back into the case.
    """
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"{path}: refusing to write a case into an existing, non-empty path")
    case = labeled.case
    _write_telemetry(case.telemetry, path, compress=compress, always_metrics=True)
    if case.baseline.metrics or case.baseline.logs or case.baseline.spans:
        _write_telemetry(case.baseline, path / BASELINE, compress=compress, always_metrics=False)
    if case.graph is not None:
        _write_table(path, "graph", mapping.to_graph_rows(case.graph), compress=compress)
    if case.changes:
        _write_table(path, "changes", mapping.to_change_rows(case.changes), compress=compress)
    if case.alert is not None:
        _write_json(path / "alert.json", mapping.to_alert_document(case.alert))
    if labeled.truth is not None:
        _write_json(path / "truth.json", mapping.to_truth_document(labeled.truth))


def _read_telemetry(folder: Path, *, require_metrics: bool) -> Telemetry:
    metrics_table = _read_table(folder, "metrics")
    if metrics_table is None and require_metrics:
        raise CaseFormatError(
            str(folder / "metrics.csv"), "missing: a case needs metrics.csv or metrics.csv.gz"
        )
    logs_table = _read_table(folder, "logs")
    spans_table = _read_table(folder, "spans")
    metrics: tuple[MetricSeries, ...] = mapping.to_metrics(metrics_table) if metrics_table else ()
    return Telemetry(
        metrics=metrics,
        logs=mapping.to_logs(logs_table) if logs_table else (),
        spans=mapping.to_spans(spans_table) if spans_table else (),
    )


def _read_table(folder: Path, stem: str) -> Table | None:
    """Read `<stem>.csv` or `<stem>.csv.gz` whole, or return None when neither exists."""
    plain = folder / f"{stem}.csv"
    packed = folder / f"{stem}.csv.gz"
    if plain.is_file() and packed.is_file():
        raise CaseFormatError(str(plain), f"both {plain.name} and {packed.name} exist; keep one")
    path = plain if plain.is_file() else packed if packed.is_file() else None
    if path is None:
        return None
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        # utf-8-sig: spreadsheets often save CSV with a byte-order mark.
        text = raw.decode("utf-8-sig")
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise CaseFormatError(str(path), f"cannot be read: {error}") from None
    except UnicodeDecodeError as error:
        raise CaseFormatError(str(path), f"is not UTF-8 text: {error.reason} at byte {error.start}") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise CaseFormatError(str(path), f"is not valid CSV: {error}") from None
    if not rows:
        raise CaseFormatError(str(path), "is empty: expected a header row")
    return Table(path=str(path), header=tuple(rows[0]), rows=rows[1:])


def _read_json(folder: Path, name: str) -> tuple[str, object | None]:
    path = folder / name
    if not path.is_file():
        return str(path), None
    try:
        return str(path), json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise CaseFormatError(
            str(path), f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise CaseFormatError(str(path), f"cannot be read: {error}") from None


def _write_telemetry(telemetry: Telemetry, folder: Path, *, compress: bool, always_metrics: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if telemetry.metrics or always_metrics:
        _write_table(folder, "metrics", mapping.to_metric_rows(telemetry.metrics), compress=compress)
    if telemetry.logs:
        _write_table(folder, "logs", mapping.to_log_rows(telemetry.logs), compress=compress)
    if telemetry.spans:
        _write_table(folder, "spans", mapping.to_span_rows(telemetry.spans), compress=compress)


def _write_table(folder: Path, stem: str, rows: Iterable[tuple[str, ...]], *, compress: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    if compress:
        # mtime=0 makes the bytes depend on the content only, so exports are reproducible.
        (folder / f"{stem}.csv.gz").write_bytes(gzip.compress(data, mtime=0))
    else:
        (folder / f"{stem}.csv").write_bytes(data)


def _write_json(path: Path, document: dict[str, object]) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
