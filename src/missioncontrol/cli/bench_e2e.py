"""`missionctl bench-e2e`: the live service end to end, measured over loopback.

- latency: alert received → brief stored, over simulated incidents of the demo estate and (with
  `--dataset`) replayed recorded cases: each case through a fresh service, as `missionctl replay`;
- overload: the server (a child process, SQLite + chDB) is first driven closed-loop to measure the
  alert rate it sustains, then offered `--factor` times that rate open-loop for `--seconds`. Its RSS is
  sampled, answers are counted (2xx / 429 / 503 / other / none), and afterwards every acknowledged
  alert must be in the store exactly once.
"""

import asyncio
import json
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from missioncontrol.cli.cases import named_cases
from missioncontrol.cli.demo import quiet_http_logs
from missioncontrol.cli.errors import fail
from missioncontrol.cli.live import ServerProcess
from missioncontrol.cli.replay import percentile, replay_one, summarize
from missioncontrol.domain import MissionControlError, TimeMode
from missioncontrol.loop.load import Outcome, alert_batch, send_all, stored_fingerprints
from missioncontrol.settings import Settings

console = Console()
TOKEN = "bench-e2e-token-not-secret"


def latency_run(dataset: str, limit: int | None, settings: Settings, data: Path | None) -> dict[str, Any]:
    """Replay cases of `dataset` through fresh services; return the replay summary and per-case rows."""
    rows: list[dict[str, Any]] = []
    for labeled in named_cases(dataset, settings, data, TimeMode.FOUND, limit=limit):
        live = replay_one(labeled, settings, url=None, token=None, baseline=True, timeout_s=180)
        truth = labeled.truth.service if labeled.truth else None
        rows.append({**live.to_json(), "truth": truth, "offline_top1": None, "agree": None})
        console.print(f"[dim]{dataset} {labeled.case.id}: {live.client_latency_s or live.skipped} s[/]")
    return {"dataset": dataset, "summary": summarize(rows), "cases": rows}


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _statuses(outcomes: list[Outcome]) -> dict[str, int]:
    counts = {"2xx": 0, "429": 0, "503": 0, "other": 0, "no_answer": 0}
    for o in outcomes:
        if o.status // 100 == 2:
            counts["2xx"] += 1
        elif o.status in (429, 503):
            counts[str(o.status)] += 1
        elif o.status == 0:
            counts["no_answer"] += 1
        else:
            counts["other"] += 1
    return counts


def _ms(values: list[float], q: float) -> float | None:
    found = percentile(values, q)
    return round(found * 1000, 1) if found is not None else None


def overload_run(
    *, seconds: float, probe_seconds: float, factor: float, batch: int, connections: int
) -> dict[str, Any]:
    """Measure the sustainable alert rate, then offer `factor` times it for `seconds`; check the store."""
    root = Path(tempfile.mkdtemp(prefix="missioncontrol-overload-"))
    server = ServerProcess(root / "state", token=TOKEN).start()
    samples: list[int] = []
    stop = threading.Event()

    def sample_rss() -> None:
        while not stop.wait(0.5):
            try:
                samples.append(server.rss_bytes())
            except Exception:  # the child is gone: the run reports it
                return

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    try:
        probe = [alert_batch("probe", i * batch, batch) for i in range(1_000_000 // batch)]
        started = time.monotonic()
        probe_out = asyncio.run(
            send_all(server.port, TOKEN, probe, rate_per_s=None, connections=16, seconds=probe_seconds)
        )
        probe_s = time.monotonic() - started
        sustainable = sum(batch for o in probe_out if o.status // 100 == 2) / probe_s
        rate_alerts = factor * sustainable
        count = int(rate_alerts * seconds / batch) + 1
        load = [alert_batch("load", i * batch, batch) for i in range(count)]
        console.print(
            f"[dim]sustained {sustainable:,.0f} alerts/s closed-loop; offering {rate_alerts:,.0f}/s "
            f"for {seconds:.0f} s[/]"
        )
        started = time.monotonic()
        outcomes = asyncio.run(
            send_all(
                server.port,
                TOKEN,
                load,
                rate_per_s=rate_alerts / batch,
                connections=connections,
                seconds=seconds,
                timeout_s=60,
            )
        )
        load_s = time.monotonic() - started
        time.sleep(2.0)  # let the writer finish what it acknowledged (it already has: 2xx is after commit)
    finally:
        stop.set()
        sampler.join(timeout=5)
        server.stop()
    stored = stored_fingerprints(root / "state" / "state.db", "load-")
    acked = [fp for o in outcomes if o.status // 100 == 2 for fp in o.batch.fingerprints]
    ok_latency = [o.latency_s for o in outcomes if o.status // 100 == 2]
    shed_latency = [o.latency_s for o in outcomes if o.status in (429, 503)]
    shutil.rmtree(root, ignore_errors=True)
    return {
        "alerts_per_request": batch,
        "probe_seconds": round(probe_s, 1),
        "sustainable_alerts_per_s": round(sustainable),
        "factor": factor,
        "offered_alerts_per_s_target": round(rate_alerts),
        "offered_alerts_per_s_achieved": round(len(outcomes) * batch / load_s),
        "seconds": round(load_s, 1),
        "requests": len(outcomes),
        "answers": _statuses(outcomes),
        "accepted_alerts_per_s": round(len(acked) / load_s),
        "p50_ms_2xx": _ms(ok_latency, 0.5),
        "p99_ms_2xx": _ms(ok_latency, 0.99),
        "p99_ms_shed": _ms(shed_latency, 0.99),
        "rss_max_mib": round(max(samples, default=0) / 2**20, 1),
        "rss_median_mib": round(statistics.median(samples) / 2**20, 1) if samples else None,
        "acknowledged_alerts": len(acked),
        "acknowledged_missing": len(set(acked) - set(stored)),
        "duplicates": sum(n - 1 for n in stored.values() if n > 1),
        "stored_not_acknowledged": len(set(stored) - set(acked)),
    }


def bench_e2e(
    latency_cases: Annotated[
        int,
        typer.Option("--latency-cases", help="Simulated demo-estate incidents for alert→brief (0: skip)."),
    ] = 20,
    dataset: Annotated[
        list[str] | None, typer.Option("--dataset", help="Also replay this dataset for latency; repeatable.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Only the first N cases of each --dataset.")
    ] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Datasets root.")] = None,
    overload: Annotated[bool, typer.Option("--overload/--no-overload", help="Run the overload test.")] = True,
    seconds: Annotated[
        float, typer.Option("--seconds", help="Overload duration (300 for the real run).")
    ] = 60,
    probe_seconds: Annotated[float, typer.Option("--probe-seconds", help="Closed-loop probe duration.")] = 20,
    factor: Annotated[float, typer.Option("--factor", help="Offered load / sustainable rate.")] = 3.0,
    batch: Annotated[int, typer.Option("--batch", help="Alerts per webhook request.")] = 10,
    connections: Annotated[int, typer.Option("--connections", help="Open-loop connections.")] = 128,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results here.")] = None,
) -> None:
    """Measure the live service end to end: alert→brief latency, and shedding under 3× overload."""
    quiet_http_logs()
    settings = Settings()
    report: dict[str, Any] = {"latency": [], "overload": None}
    try:
        if latency_cases:
            report["latency"].append(latency_run("simulated", latency_cases, settings, data))
        for name in dataset or []:
            report["latency"].append(latency_run(name, limit, settings, data))
        if overload:
            report["overload"] = overload_run(
                seconds=seconds,
                probe_seconds=probe_seconds,
                factor=factor,
                batch=batch,
                connections=connections,
            )
    except MissionControlError as exc:
        raise fail(str(exc)) from None
    for run in report["latency"]:
        s = run["summary"]
        console.print(
            f"{run['dataset']}: {s['ran_live']} case(s) live ({s['skipped']} without alert); alert → brief "
            f"stored p50 {_seconds(s['brief_p50_s'])}, p99 {_seconds(s['brief_p99_s'])} (diagnosis done p99 "
            f"{_seconds(s['diagnosis_p99_s'])}); live top-1 correct {s['live_top1_correct']}/{s['ran_live']}"
        )
    if report["overload"] is not None:
        console.print_json(json.dumps(report["overload"]))
    if json_out:
        json_out.write_text(json.dumps(report, indent=2))
        console.print(f"[dim]Wrote {json_out}[/]")
