"""Tests for the `missionctl` command line, run in-process through typer's CliRunner."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from missioncontrol import bootstrap
from missioncontrol.cli import demo, main
from missioncontrol.cli import errors as cli_errors
from missioncontrol.cli.cases import named_cases
from missioncontrol.cli.main import app
from missioncontrol.domain import LabeledCase, TimeMode
from missioncontrol.settings import Settings

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
METHODS = ["missioncontrol", "baro", "nsigma", "alert_count"]
METRIC_KEYS = {"ac1", "ac3", "avg5", "mrr", "median_s", "p95_s", "peak_rss_mb", "ece", "by_fault"}


def use_plain_consoles(mp: pytest.MonkeyPatch) -> None:
    """Swap the CLI's rich consoles for colourless ones that never hard-wrap.

    main.py builds its consoles at import, so colour and width would otherwise depend on whatever
    environment imported it (FORCE_COLOR, COLUMNS, a terminal on stdin). Both still write to the
    current sys.stdout / sys.stderr, which is what CliRunner captures.
    """
    mp.setattr(main, "console", Console(color_system=None, force_terminal=False, width=200))
    mp.setattr(
        cli_errors, "errors", Console(stderr=True, color_system=None, force_terminal=False, soft_wrap=True)
    )
    mp.setattr(demo, "console", Console(color_system=None, force_terminal=False, width=200))


@pytest.fixture(autouse=True)
def plain_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run each command from an empty folder, with no data root from the environment."""
    use_plain_consoles(monkeypatch)
    monkeypatch.delenv("MISSIONCONTROL_DATA_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def run_ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, (
        f"missionctl {' '.join(args)} exited {result.exit_code}: {result.exception!r}\n{result.output}"
    )
    return result


def error_line(result: Result) -> str:
    """Return the single line the CLI printed to stderr, after checking it is the only one."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got:\n{result.stderr}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def require_datasets() -> Path:
    for folder in ("nezha", "rcd-sockshop"):
        if not (DATASETS / folder).is_dir():
            pytest.skip(f"../shared/datasets not found: {DATASETS / folder} is absent")
    return DATASETS


@pytest.fixture(scope="module")
def first_simulated() -> LabeledCase:
    source = bootstrap.open_source("simulated", Settings(data_root=None))
    return next(iter(source.cases(time_mode=TimeMode.GIVEN)))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """Export `simulated#1` once for the module: the export reads the whole suite (about 9 s)."""
    out = tmp_path_factory.mktemp("export")
    with pytest.MonkeyPatch.context() as mp:
        use_plain_consoles(mp)
        result = run_ok("dataset", "export", "simulated#1", "--out", str(out))
    return out, result


@pytest.fixture
def case_folder(exported: tuple[Path, Result]) -> Path:
    return exported[0] / "case-001"


# demo


def test_offline_demo_json_ranks_the_injected_culprit_first_with_receipts() -> None:
    truth = bootstrap.the_demo_case().truth
    assert truth is not None

    diagnosis = json.loads(run_ok("demo", "--offline", "--json").stdout)

    assert diagnosis["hypotheses"], "the demo diagnosis has no hypotheses"
    assert diagnosis["hypotheses"][0]["service"] == truth.service
    evidence = [e for h in diagnosis["hypotheses"] for e in h["evidence"]]
    assert evidence, "the demo hypotheses carry no evidence"
    for e in evidence:
        assert e["source"].strip() and e["query"].strip(), e
        assert isinstance(e["window"], list) and len(e["window"]) == 2, e
        start, end = (datetime.fromisoformat(t) for t in e["window"])
        assert start.tzinfo is not None and start <= end, e


def test_offline_demo_brief_names_the_prime_suspect() -> None:
    truth = bootstrap.the_demo_case().truth
    assert truth is not None

    out = run_ok("demo", "--offline").stdout

    assert f"Prime suspect: {truth.service} " in out
    assert "Diagnosed in " in out
    # The demo estate's catalog and the sample policy: the suspect's team is paged, not the symptom's.
    assert "Owner of the prime suspect: pricing" in out
    assert "Page: pricing (owner of the suspected cause) — pricing-oncall@example.com, #pricing-oncall" in out
    assert "storefront" not in out


# dataset export and investigate on the exported folder


def test_dataset_export_writes_one_case_folder_with_its_truth(
    exported: tuple[Path, Result], first_simulated: LabeledCase
) -> None:
    out, result = exported
    folder = out / "case-001"

    assert [p.name for p in out.iterdir()] == ["case-001"]
    for name in ("metrics.csv", "truth.json", "alert.json", "graph.csv"):
        assert (folder / name).is_file(), f"{name} missing from {sorted(p.name for p in folder.iterdir())}"
    assert (folder / "metrics.csv").read_text().splitlines()[0] == "time,service,metric,value"
    truth = json.loads((folder / "truth.json").read_text())
    expected = first_simulated.truth
    assert expected is not None
    assert truth["service"] == expected.service
    assert truth["fault"] == expected.fault
    assert truth["started_at"] == expected.started_at.timestamp()
    assert f"Wrote 1 case folder(s) under {out}" in result.stdout


def test_investigate_case_folder_prints_json_hypotheses(case_folder: Path) -> None:
    diagnosis = json.loads(run_ok("investigate", str(case_folder), "--json", "--time", "found").stdout)

    assert diagnosis["case_id"] == "case-001"
    assert diagnosis["method"] == "missioncontrol"
    assert diagnosis["hypotheses"]
    assert all(h["service"] and h["evidence"] for h in diagnosis["hypotheses"])


def test_investigate_with_time_given_uses_the_truth_onset(case_folder: Path) -> None:
    started_at = json.loads((case_folder / "truth.json").read_text())["started_at"]

    diagnosis = json.loads(run_ok("investigate", str(case_folder), "--json", "--time", "given").stdout)

    assert datetime.fromisoformat(diagnosis["onset_at"]) == datetime.fromtimestamp(started_at, UTC)


def test_investigate_prints_the_truth_only_when_asked(case_folder: Path) -> None:
    truth = json.loads((case_folder / "truth.json").read_text())
    line = f"Truth (for scoring only): {truth['service']} / {truth['fault']} — "

    with_truth = run_ok("investigate", str(case_folder), "--truth").stdout
    without = run_ok("investigate", str(case_folder)).stdout

    assert "Prime suspect: " in with_truth
    assert line in with_truth
    assert "Truth (for scoring only)" not in without


# bench


def test_bench_writes_summary_and_per_case_json(tmp_path: Path) -> None:
    summary_file, cases_file = tmp_path / "bench.json", tmp_path / "cases.json"

    run_ok(
        "bench",
        *("--dataset", "simulated", "--limit", "4", "--time", "given"),
        *("--json", str(summary_file), "--cases", str(cases_file)),
    )

    reports = json.loads(summary_file.read_text())
    assert isinstance(reports, list) and len(reports) == 1
    report = reports[0]
    assert set(report) == {"dataset", "time", "cases", "methods"}
    assert (report["dataset"], report["time"]) == ("simulated", "given")
    assert 1 <= report["cases"] <= 4  # labelled cases only: a no-fault control is run but not scored
    assert list(report["methods"]) == METHODS
    for name, m in report["methods"].items():
        assert set(m) == METRIC_KEYS, name
        assert all(0.0 <= m[k] <= 1.0 for k in ("ac1", "ac3", "avg5", "mrr", "ece")), (name, m)
        assert m["ac1"] <= m["ac3"], (name, m)
        assert sum(f["n"] for f in m["by_fault"].values()) == report["cases"], (name, m["by_fault"])

    rows = json.loads(cases_file.read_text())
    assert len(rows) == 4 * len(METHODS)
    assert {(r["dataset"], r["time"]) for r in rows} == {("simulated", "given")}
    assert sorted(r["method"] for r in rows) == sorted(METHODS * 4)
    assert len({r["case_id"] for r in rows}) == 4
    assert all(r["rank"] is None or r["rank"] >= 1 for r in rows)


# errors: exit code 2 and one line that names the problem


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["bench", "--dataset", "nezha-tt", "--data", "/nonexistent"], ["'nezha-tt'", "--data"]),
        (["bench", "--dataset", "nope"], ["unknown dataset 'nope'"]),
        (["investigate", "no-such-case"], ["no case or dataset 'no-such-case'"]),
        (["investigate", "simulated"], ["'simulated' is a whole dataset"]),
        (["investigate", "simulated#two"], ["'simulated#two'", "whole number"]),
        (["investigate", "simulated#1", "--time", "sometimes"], ["--time", "'sometimes'"]),
        (["bench", "--dataset", "simulated", "--time", "sometimes"], ["--time", "'sometimes'"]),
        (["dataset", "export", "nope", "--out", "out"], ["unknown dataset 'nope'"]),
    ],
    ids=[
        "missing-data-root",
        "unknown-dataset",
        "unknown-case",
        "whole-dataset",
        "bad-number",
        "bad-time",
        "bench-bad-time",
        "export-nope",
    ],
)
def test_bad_input_exits_2_with_one_error_line(args: list[str], named: list[str]) -> None:
    result = run(*args)

    assert result.exit_code == 2, result.output
    line = error_line(result)
    for words in named:
        assert words in line
    assert result.stdout == ""


def test_missing_data_root_error_names_the_path_given() -> None:
    result = run("bench", "--dataset", "nezha-tt", "--data", "/nonexistent")

    assert result.exit_code == 2
    assert "/nonexistent" in error_line(result)


def test_dataset_export_rejects_a_non_numeric_index(tmp_path: Path) -> None:
    result = run("dataset", "export", "simulated#x", "--out", str(tmp_path / "out"))

    assert result.exit_code == 2, result.output
    assert "'x'" in error_line(result)


def test_dataset_export_of_a_missing_case_is_an_error(case_folder: Path, tmp_path: Path) -> None:
    result = run("dataset", "export", f"cases:{case_folder.parent}#5", "--out", str(tmp_path / "out"))

    assert result.exit_code == 2, result.output
    assert "5" in error_line(result)
    assert not (tmp_path / "out").exists()


def test_dataset_export_into_a_used_folder_is_a_one_line_error(case_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_ok("dataset", "export", f"cases:{case_folder.parent}", "--out", str(out))

    again = run("dataset", "export", f"cases:{case_folder.parent}", "--out", str(out))

    assert again.exit_code == 2, again.output
    assert "case-001" in error_line(again)


class CountingSource:
    """A case source that counts how many cases its reader pulled."""

    name = "counting"

    def __init__(self, first: LabeledCase, total: int) -> None:
        self.first = first
        self.total = total
        self.pulled = 0

    def cases(self, *, time_mode: TimeMode) -> Iterator[LabeledCase]:
        for _ in range(self.total):
            self.pulled += 1
            yield self.first


def test_dataset_export_of_one_case_stops_reading_after_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = CountingSource(bootstrap.the_demo_case(), total=5)
    monkeypatch.setattr(bootstrap, "open_source", lambda *args, **kwargs: source)

    run_ok("dataset", "export", "anything#1", "--out", str(tmp_path / "out"))

    assert (tmp_path / "out" / "case-001" / "metrics.csv").is_file()
    assert source.pulled == 1


# the real datasets


@pytest.mark.datasets
def test_dataset_list_counts_the_cases_of_each_dataset() -> None:
    root = require_datasets()

    lines = run_ok("dataset", "list", "--data", str(root)).stdout.splitlines()

    for expected in ("nezha-tt: 28 cases", "nezha-ob: 56 cases", "rcd-sockshop: 50 cases"):
        assert expected in lines
    assert any(line.startswith("simulated: ") and line.endswith(" cases") for line in lines)
    assert not any("unavailable" in line for line in lines)


@pytest.mark.datasets
def test_investigate_a_nezha_case_by_index() -> None:
    root = require_datasets()

    diagnosis = json.loads(run_ok("investigate", "nezha-tt#1", "--data", str(root), "--json").stdout)

    assert diagnosis["case_id"].startswith("nezha-tt/")
    assert diagnosis["hypotheses"]
    assert all(h["service"] for h in diagnosis["hypotheses"])


@pytest.mark.datasets
def test_investigate_a_case_id_whose_number_is_not_an_index() -> None:
    root = require_datasets()
    source = bootstrap.open_source("nezha-ob", Settings(), data_root=root)
    ids = [labeled.case.id for labeled in source.cases(time_mode=TimeMode.GIVEN)]
    # a later day's "#01": its number is not its place in the dataset, so an index reading finds another case
    later = next(case_id for case_id in ids[1:] if case_id.endswith("/#01"))

    diagnosis = json.loads(run_ok("investigate", later, "--data", str(root), "--json").stdout)

    assert diagnosis["case_id"] == later


# naming cases: one reading for investigate, replay and bench-e2e


def simulated_ids(n: int) -> list[str]:
    source = bootstrap.open_source("simulated", Settings(data_root=None))
    return [labeled.case.id for labeled in islice(source.cases(time_mode=TimeMode.FOUND), n)]


def test_a_number_names_a_place_in_the_dataset_and_a_bare_dataset_all_its_cases() -> None:
    settings = Settings(data_root=None)
    first_three = simulated_ids(3)

    second = [c.case.id for c in named_cases("simulated#2", settings, None, TimeMode.FOUND)]
    first_two = [c.case.id for c in named_cases("simulated", settings, None, TimeMode.FOUND, limit=2)]

    assert second == first_three[1:2]
    assert first_two == first_three[:2]


def test_a_case_folder_is_named_by_its_path_with_or_without_the_cases_prefix(case_folder: Path) -> None:
    settings = Settings(data_root=None)

    plain = [c.case.id for c in named_cases(str(case_folder), settings, None, TimeMode.FOUND)]
    prefixed = [c.case.id for c in named_cases(f"cases:{case_folder}", settings, None, TimeMode.FOUND)]

    assert plain == prefixed
    assert len(plain) == 1


@pytest.mark.datasets
def test_replay_reads_a_case_id_as_that_case_and_an_unknown_id_as_an_error() -> None:
    root = require_datasets()
    settings = Settings()
    source = bootstrap.open_source("nezha-ob", settings, data_root=root)
    ids = [c.case.id for c in source.cases(time_mode=TimeMode.FOUND)]
    later = next(case_id for case_id in ids[1:] if case_id.endswith("/#01"))

    named = [c.case.id for c in named_cases(later, settings, root, TimeMode.FOUND)]
    result = run("replay", "nezha-ob/2099-01-01/#01", "--data", str(root))

    assert named == [later]
    assert result.exit_code != 0
    assert "no case 'nezha-ob/2099-01-01/#01' in nezha-ob" in result.output
