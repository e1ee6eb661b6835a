"""The whole loop as a user runs it: `missionctl demo --once` and `missionctl replay`, as child processes.

Each runs the real service (uvicorn on 127.0.0.1, SQLite and chDB in a temporary folder) and sends it
real-format payloads over HTTP; nothing here is faked. Children keep chDB (one per process) out of the
test process.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from missioncontrol import bootstrap
from missioncontrol.connectors.backstage import parse_catalog

CLI = [sys.executable, "-c", "from missioncontrol.cli.main import app; app()"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "MISSIONCONTROL_STATE_DIR": str(cwd / "state")}
    done = subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_demo_once_serves_the_brief_of_the_incident_it_sent_over_http(tmp_path: Path) -> None:
    truth = bootstrap.the_demo_case().truth
    assert truth is not None

    brief = json.loads(run_cli("demo", "--once", "--json", cwd=tmp_path).stdout)

    hypotheses = brief["diagnosis"]["hypotheses"]
    assert hypotheses and hypotheses[0]["service"] == truth.service
    assert brief["incident_id"].startswith("inc-") and brief["version"] >= 1
    assert "api-gateway" in brief["impact"]["summary"], "the impact names the alerting service"
    evidence = [e for h in hypotheses for e in h["evidence"]]
    assert evidence and all(e["source"].strip() and e["query"].strip() for e in evidence)
    assert not (tmp_path / "state").exists(), "the demo keeps its state in a temporary folder"
    # The estate's Backstage catalog went over the wire: the brief names the suspect's owning team and
    # the decision pages that team (the sample policy's contacts), not the alerting symptom's team.
    assert brief["owner"] == "pricing"
    decision = brief["decision"]
    assert decision["page_team"] == "pricing"
    assert "pricing-oncall@example.com" in decision["page_contacts"], (
        "the stored brief keeps how to reach them"
    )
    symptom_team = {e.service: e.owner for e in parse_catalog(bootstrap.the_demo_catalog()).entries}[
        "api-gateway"
    ]
    assert symptom_team == "storefront" != decision["page_team"]


def test_demo_once_prints_the_brief_what_was_sent_and_the_latency(tmp_path: Path) -> None:
    out = run_cli("demo", "--once", cwd=tmp_path).stdout

    assert "Prime suspect: quotes-db " in out
    assert (
        "Owner of the prime suspect: pricing" in out and "Page: pricing (owner of the suspected cause)" in out
    )
    assert "(CDEvents)" in out and "(OTLP/JSON)" in out and "(Alertmanager v4)" in out
    assert "Alert sent → brief stored and served after " in out


def test_replay_reports_live_and_offline_top1_of_a_simulated_case(tmp_path: Path) -> None:
    out_file = tmp_path / "replay.json"

    run_cli("replay", "simulated#1", "--json", str(out_file), cwd=tmp_path)

    report = json.loads(out_file.read_text())
    (case,) = report["cases"]
    assert case["skipped"] == "" and case["incident_id"]
    assert case["top1"] == case["offline_top1"], case
    assert case["sent"]["spans"] > 0 and case["sent"]["logs"] > 0 and case["sent"]["metric_points"] > 0
    assert case["client_latency_s"] is not None and case["client_latency_s"] > 0
    assert report["summary"]["ran_live"] == 1 and report["summary"]["agree"] == 1


def test_ctrl_c_stops_the_demo_cleanly_after_its_shutdown_hooks(tmp_path: Path) -> None:
    # Ctrl-C used to end the demo with a segfault (exit 139): the interrupted `Thread.join` marked the
    # server thread stopped while it still ran, so the process exited under the embedded chDB.
    env = {
        **os.environ,
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "MISSIONCONTROL_STATE_DIR": str(tmp_path / "state"),
    }
    child = subprocess.Popen(
        [*CLI, "demo"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        seen = []
        for line in child.stdout:
            seen.append(line)
            if "Press Ctrl-C to stop" in line:
                break
        else:
            raise AssertionError("the demo ended before it was up:\n" + "".join(seen[-40:]))
        time.sleep(1.0)  # the prompt is printed just before the demo starts waiting for Ctrl-C
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, f"exit {child.returncode}\n{out[-2000:]}\n{err[-3000:]}"
    assert "ShutdownTablesThreadPool" not in err, err[-3000:]
