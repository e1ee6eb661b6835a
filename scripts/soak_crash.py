"""Crash-safety soak: kill -9 the server mid-ingest, restart it, resend; count lost and duplicated alerts.

Each trial, on a fresh state dir:
  1. start `missionctl serve` as a child (SQLite state, synchronous=FULL);
  2. send N alerts (Alertmanager v4 webhooks of --batch alerts, unique fingerprints) over loopback;
  3. at a random point between 20 % and 80 % of the batches answered, SIGKILL the server;
  4. restart it on the same state dir and count, BEFORE any resend, the acknowledged (2xx) alerts that
     are missing: every one must be there (0 lost);
  5. resend every batch, acknowledged or not, as an at-least-once sender does, until all are 2xx;
  6. kill the server again and count rows per fingerprint: exactly one each (0 duplicates, 0 missing).

    .venv/bin/python scripts/soak_crash.py --trials 20 --alerts 200000 --json out/soak.json
    .venv/bin/python scripts/soak_crash.py --trials 2 --alerts 2000          # the short version

All traffic goes to 127.0.0.1; every trial is bounded in alerts and time.
"""

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from missioncontrol.cli.live import ServerProcess
from missioncontrol.loop.load import Batch, Outcome, alert_batch, send_all, stored_fingerprints

TOKEN = "soak-token-not-secret"


def resend_until_acknowledged(server: ServerProcess, batches: list[Batch], *, deadline_s: float) -> int:
    """Send the batches until each has a 2xx; return how many requests that took."""
    pending = list(batches)
    requests = 0
    give_up = time.monotonic() + deadline_s
    while pending:
        if time.monotonic() > give_up:
            raise SystemExit(f"{len(pending)} batches still unacknowledged after {deadline_s:.0f} s")
        outcomes = asyncio.run(send_all(server.port, TOKEN, pending, rate_per_s=None, connections=8))
        requests += len(outcomes)
        pending = [o.batch for o in outcomes if o.status // 100 != 2]
        if pending:
            time.sleep(1.0)
    return requests


def trial(number: int, alerts: int, batch: int, root: Path, rng: random.Random) -> dict[str, Any]:
    """Run one kill -9 trial and return its counts."""
    run = f"soak{number:03d}"
    batches = [alert_batch(run, i, min(batch, alerts - i)) for i in range(0, alerts, batch)]
    kill_at = int(len(batches) * rng.uniform(0.2, 0.8))
    state = root / run
    server = ServerProcess(state, token=TOKEN).start()
    killed_at: list[float] = []

    def maybe_kill(_outcome: Outcome) -> None:
        nonlocal answered
        answered += 1
        if answered == kill_at and not killed_at:
            server.kill()
            killed_at.append(time.monotonic())

    answered = 0
    started = time.monotonic()
    outcomes = asyncio.run(
        send_all(server.port, TOKEN, batches, rate_per_s=None, connections=8, on_outcome=maybe_kill)
    )
    if not killed_at:  # every batch was answered before the kill point came round
        server.kill()
    send_s = time.monotonic() - started
    acked = {fp for o in outcomes if o.status // 100 == 2 for fp in o.batch.fingerprints}
    shed = sum(1 for o in outcomes if o.status in (429, 503))

    restarted = time.monotonic()
    server = ServerProcess(state, token=TOKEN, port=server.port).start()
    restart_s = time.monotonic() - restarted
    try:
        after_restart = stored_fingerprints(state / "state.db", run)
        lost = sorted(acked - set(after_restart))
        resent = time.monotonic()
        requests = resend_until_acknowledged(server, batches, deadline_s=600)
        resend_s = time.monotonic() - resent
    finally:
        server.kill()  # every batch is acknowledged, so committed: a kill, not a drain, ends the trial
    final = stored_fingerprints(state / "state.db", run)
    expected = {fp for b in batches for fp in b.fingerprints}
    result = {
        "trial": number,
        "alerts": alerts,
        "batches": len(batches),
        "killed_after_batches": kill_at,
        "acknowledged_before_kill": len(acked),
        "stored_at_restart": len(after_restart),
        "shed_before_kill": shed,
        "lost_acknowledged": len(lost),
        "lost_examples": lost[:5],
        "resend_requests": requests,
        "missing_after_resend": len(expected - set(final)),
        "duplicates": sum(n - 1 for n in final.values() if n > 1),
        "unexpected_rows": len(set(final) - expected),
        "send_s": round(send_s, 2),
        "restart_s": round(restart_s, 2),
        "resend_s": round(resend_s, 2),
    }
    shutil.rmtree(state, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the trials; exit 1 if any acknowledged alert was lost or any alert was duplicated or missing."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--alerts", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=100, help="alerts per webhook")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the per-trial results here")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="missioncontrol-soak-"))
    results = []
    started = time.monotonic()
    try:
        for number in range(1, args.trials + 1):
            result = trial(number, args.alerts, args.batch, root, rng)
            results.append(result)
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    summary = {
        "trials": len(results),
        "alerts_per_trial": args.alerts,
        "lost_acknowledged": sum(r["lost_acknowledged"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
        "missing_after_resend": sum(r["missing_after_resend"] for r in results),
        "acknowledged_before_kill": sum(r["acknowledged_before_kill"] for r in results),
        "seconds": round(time.monotonic() - started, 1),
    }
    sys.stdout.write(json.dumps({"summary": summary}) + "\n")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "trials": results}, indent=2))
    bad = summary["lost_acknowledged"] or summary["duplicates"] or summary["missing_after_resend"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
