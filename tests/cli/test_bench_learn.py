"""`missionctl bench --learn` through typer's CliRunner, on simulated incidents."""

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from missioncontrol.cli import bench_learn
from missioncontrol.cli import errors as cli_errors
from missioncontrol.cli.main import app


@pytest.fixture(autouse=True)
def plain_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bench_learn, "console", Console(color_system=None, force_terminal=False, width=200))
    monkeypatch.setattr(
        cli_errors, "errors", Console(stderr=True, color_system=None, force_terminal=False, soft_wrap=True)
    )
    monkeypatch.delenv("MISSIONCONTROL_DATA_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)


def test_bench_learn_reports_with_and_without_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "learn.json"
    steps = tmp_path / "steps.json"
    args = ["bench", "--learn", "--dataset", "simulated", "--limit", "8", "--time", "found"]
    result = CliRunner().invoke(app, [*args, "--json", str(out), "--cases", str(steps)])
    assert result.exit_code == 0, result.output
    assert "AC@1" in result.output and "same-cause past incident in the top 3" in result.output
    (summary,) = json.loads(out.read_text())
    assert summary["time"] == "found" and summary["datasets"] == ["simulated"]
    assert summary["overall"]["n"] == 8
    assert set(summary["overall"]) >= {"ac1_without", "ac1_with", "ac3_without", "ac3_with"}
    assert summary["never_seen_cause"]["n"] >= 1
    rows = json.loads(steps.read_text())
    assert [r["position"] for r in rows] == list(range(1, 9))
    assert rows[0]["is_new_cause"] is True


def test_bench_learn_names_an_unknown_dataset() -> None:
    result = CliRunner().invoke(app, ["bench", "--learn", "--dataset", "nope"])
    assert result.exit_code == 2
    assert "unknown dataset 'nope'" in result.output
