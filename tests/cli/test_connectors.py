"""`missionctl connectors list` and `missionctl catalog load` from the command line."""

from pathlib import Path

from typer.testing import CliRunner

from missioncontrol.cli.main import app

SAMPLE = (
    Path(__file__).resolve().parents[2] / "src/missioncontrol/connectors/backstage/samples/catalog-info.yaml"
)


def test_connectors_list_shows_each_connector_and_its_state(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["connectors", "list"], env={"MISSIONCONTROL_CONNECTORS": '{"github": {"webhook_secret": 5}}'}
    )
    # A config that does not validate is a failed connector, named with the field; the command says so.
    assert result.exit_code == 1, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") >= 4}
    assert "enabled" in lines["otlp"] and "telemetry_source" in lines["otlp"]
    assert "enabled" in lines["cdevents"] and "enabled" in lines["backstage"]
    assert "failed" in lines["github"]
    assert "webhook_secret" in result.output


def test_catalog_load_records_components_and_teams(tmp_path: Path) -> None:
    env = {"MISSIONCONTROL_STATE_DIR": str(tmp_path / "state"), "MISSIONCONTROL_DATABASE_URL": ""}
    result = CliRunner().invoke(app, ["catalog", "load", str(SAMPLE)], env=env)
    assert result.exit_code == 0, result.output
    assert "recorded 2 components and 1 teams" in result.output
    assert (tmp_path / "state" / "state.db").is_file()
    missing = CliRunner().invoke(app, ["catalog", "load", str(tmp_path / "nope.yaml")], env=env)
    assert missing.exit_code == 2 and "no such file" in missing.output
