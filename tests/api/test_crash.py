"""Crash safety, short version: kill -9 a server mid-ingest, restart it, resend; nothing acknowledged is
lost and nothing is duplicated."""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from tests.api.conftest import TOKEN
from tests.connectors.test_alertmanager import free_port

TOTAL = 1000
SENDERS = 6


def start_server(state: Path, port: int, *, worker: bool) -> subprocess.Popen[bytes]:
    env = {
        "MISSIONCONTROL_RUN_WORKER": "true" if worker else "false",
        **os.environ,
        "MISSIONCONTROL_STATE_DIR": str(state),
        "MISSIONCONTROL_API_TOKENS": f'["{TOKEN}"]',
        "MISSIONCONTROL_WORKERS": "1",
        "MISSIONCONTROL_INVESTIGATION_WORKERS": "1",
    }
    env.pop("MISSIONCONTROL_DATABASE_URL", None)
    code = "from missioncontrol.cli.main import app; app()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None, f"server exited with {proc.returncode} while starting"
        assert time.monotonic() < deadline, "server did not answer /healthz within 60 s"
        time.sleep(0.1)


def body(i: int) -> dict[str, object]:
    return {
        "version": "4",
        "alerts": [
            {
                "labels": {"alertname": "Crash", "service": f"svc-{i % 7}", "severity": "warning"},
                "startsAt": "2026-12-02T09:00:00Z",
                "fingerprint": f"crash-{i:05d}",
            }
        ],
    }


def test_kill_9_mid_ingest_loses_no_acknowledged_alert_and_resend_adds_no_duplicate(tmp_path: Path) -> None:
    state, port = tmp_path / "state", free_port()
    url = f"http://127.0.0.1:{port}/api/v1/alerts/alertmanager"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    acked: set[int] = set()
    lock = threading.Lock()
    proc = start_server(state, port, worker=False)  # ingest only: alerts stay unprocessed for recovery

    def send(worker: int) -> None:
        with httpx.Client(headers=headers, timeout=5) as client:
            for i in range(worker, TOTAL, SENDERS):
                try:
                    response = client.post(url, json=body(i))
                except httpx.TransportError:
                    return  # the server is gone
                if response.status_code == 200:
                    with lock:
                        acked.add(i)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(SENDERS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-ingest: senders are still posting
    proc.wait(timeout=10)
    for t in threads:
        t.join(timeout=30)
    assert 200 <= len(acked) < TOTAL, f"the kill should land mid-ingest ({len(acked)} acknowledged)"
    db = state / "state.db"
    with sqlite3.connect(db) as conn:
        stored = {int(f.removeprefix("crash-")) for (f,) in conn.execute("SELECT fingerprint FROM alerts")}
    assert acked <= stored, f"{len(acked - stored)} acknowledged alerts lost"

    proc = start_server(state, port, worker=True)  # restart: recovery groups what the crash left
    try:
        # The senders resend what was never acknowledged, and some of what was (at-least-once).
        resend = [i for i in range(TOTAL) if i not in acked] + sorted(acked)[:200]

        def resend_share(worker: int) -> list[int]:
            with httpx.Client(headers=headers, timeout=30) as client:
                return [client.post(url, json=body(i)).status_code for i in resend[worker::SENDERS]]

        with ThreadPoolExecutor(SENDERS) as pool:
            codes = [c for share in pool.map(resend_share, range(SENDERS)) for c in share]
        assert codes == [200] * len(resend)
        deadline = time.monotonic() + 60
        while True:
            with sqlite3.connect(db) as conn:
                pending = conn.execute("SELECT count(*) FROM alerts WHERE is_processed = 0").fetchone()[0]
            if pending == 0:
                break
            assert time.monotonic() < deadline, f"{pending} alerts still ungrouped 60 s after restart"
            time.sleep(0.2)
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT fingerprint, count(*) FROM alerts GROUP BY fingerprint").fetchall()
            ungrouped = conn.execute("SELECT count(*) FROM alerts WHERE incident_id IS NULL").fetchone()[0]
        assert len(rows) == TOTAL and all(n == 1 for _, n in rows)
        assert ungrouped == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
