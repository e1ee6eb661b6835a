"""The crash-safety soak, short version: 2 trials × 2,000 alerts, kill -9 mid-ingest, restart, resend.

`scripts/soak_crash.py --trials 20 --alerts 200000` is the real run (docs/benchmarks.md).
"""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "soak_crash.py"


def test_no_acknowledged_alert_is_lost_and_none_is_duplicated_after_kill_9(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"

    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--trials", "2", "--alerts", "2000", "--seed", "7", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["summary"]["trials"] == 2
    for trial in report["trials"]:
        assert trial["lost_acknowledged"] == 0, trial
        assert trial["duplicates"] == 0 and trial["missing_after_resend"] == 0, trial
        assert trial["unexpected_rows"] == 0, trial
        # The kill came mid-ingest: some batches were acknowledged, and not all of them.
        assert 0 < trial["acknowledged_before_kill"] < trial["alerts"], trial
        assert trial["stored_at_restart"] >= trial["acknowledged_before_kill"], trial
