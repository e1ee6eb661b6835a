"""`missionctl replay CASE|DATASET`: recorded incidents through the live HTTP path, against offline.

For each case: the offline top-1 (`Engine.diagnose` on the case, onset found from the alert, as
`missionctl bench --time found` does), then the live top-1 — a fresh service (its own state dir) is
sent the case's catalog, deploys, telemetry and alert in the real formats and its stored brief is read
back over HTTP. Reports both per case, how often they agree, and alert → brief latency p50/p99.
"""

import gc
import json
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from missioncontrol import bootstrap
from missioncontrol.cli.cases import named_cases
from missioncontrol.cli.demo import quiet_http_logs
from missioncontrol.cli.errors import fail
from missioncontrol.cli.live import InProcessServer
from missioncontrol.domain import LabeledCase, MissionControlError, Telemetry, TimeMode
from missioncontrol.loop import CaseSender, LiveResult
from missioncontrol.settings import Settings

console = Console()


def percentile(values: list[float], q: float) -> float | None:
    """Return the nearest-rank q-quantile (0..1) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


def reference_window(telemetry: Telemetry) -> tuple[datetime, datetime] | None:
    """Return the time range a healthy reference run covers, None when the case has none."""
    times = [t for m in telemetry.metrics for t in m.timestamps[:1] + m.timestamps[-1:]]
    times += [r.timestamp for r in telemetry.logs]
    times += [s.start_ns / 1e9 for s in telemetry.spans]
    if not times:
        return None
    return datetime.fromtimestamp(min(times), UTC), datetime.fromtimestamp(max(times) + 1.0, UTC)


def replay_one(
    labeled: LabeledCase,
    settings: Settings,
    *,
    url: str | None,
    token: str | None,
    baseline: bool,
    timeout_s: float,
) -> LiveResult:
    """Drive one case through a fresh local service (or the one at `url`) and return what it did."""
    formats = bootstrap.wire_formats()
    if url is not None:
        with CaseSender(url, token or "", formats) as sender:
            return sender.drive(labeled.case, baseline=baseline, timeout_s=timeout_s)
    if labeled.case.alert is None:
        return LiveResult(case_id=labeled.case.id, skipped="no alert fired: nothing starts the live path")
    folder = Path(tempfile.mkdtemp(prefix="missioncontrol-replay-"))
    try:
        update: dict[str, Any] = {"state_dir": folder, "database_url": None, "telemetry_url": None}
        reference = reference_window(labeled.case.baseline) if baseline else None
        if reference is not None:  # the case's healthy run: told to the service, as an operator would
            update["reference_windows"] = [reference]
        local = settings.model_copy(update=update)
        # The service shares this process with the sender, which holds the whole loaded case (and
        # the offline diagnosis): frozen out of the cyclic collector, as `bench` does, so the
        # service's full collections do not scan the client's heap, which a real service never has.
        gc.collect()
        gc.freeze()
        with InProcessServer(local) as server, CaseSender(server.url, server.token, formats) as sender:
            return sender.drive(labeled.case, baseline=baseline, timeout_s=timeout_s)
    finally:
        gc.unfreeze()
        shutil.rmtree(folder, ignore_errors=True)


def replay(
    target: Annotated[str, typer.Argument(help="A case folder, DATASET#N (1-based), or a DATASET.")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Datasets root (default ../shared/datasets where it exists)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N cases.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write per-case results to this file.")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Send to this running service instead of starting one per case."),
    ] = None,
    token: Annotated[str | None, typer.Option("--token", help="Bearer token for --url.")] = None,
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline/--no-baseline", help="Also send the case's healthy reference run, if it has one."
        ),
    ] = True,
    timeout_s: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each brief.")] = 120.0,
) -> None:
    """Drive recorded incidents through the live HTTP path; report live vs offline top-1 and latency."""
    quiet_http_logs()
    settings = Settings()
    engine = bootstrap.build_engine(settings)
    rows: list[dict[str, Any]] = []
    table = Table(title=f"replay {target}: live HTTP path vs offline engine")
    for column in ("case", "truth", "offline top-1", "live top-1", "agree", "alert→brief s"):
        table.add_column(column)
    try:
        for labeled in named_cases(target, settings, data, TimeMode.FOUND, limit=limit):
            started = time.perf_counter()
            offline = engine.diagnose(labeled.case)
            offline_s = time.perf_counter() - started
            live = replay_one(labeled, settings, url=url, token=token, baseline=baseline, timeout_s=timeout_s)
            offline_top = offline.ranked_services[0] if offline.ranked_services else None
            truth = labeled.truth.service if labeled.truth else None
            row = {
                **live.to_json(),
                "truth": truth,
                "offline_top1": offline_top,
                "offline_ranked": list(offline.ranked_services[:5]),
                "offline_s": round(offline_s, 3),
                "agree": None if live.skipped else live.top1 == offline_top,
            }
            rows.append(row)
            agree = "—" if live.skipped else ("yes" if row["agree"] else "[red]no[/]")
            seconds = (
                f"{live.client_latency_s:.2f}" if live.client_latency_s is not None else live.skipped or "—"
            )
            table.add_row(labeled.case.id, str(truth), str(offline_top), str(live.top1), agree, seconds)
            console.print(
                f"[dim]{labeled.case.id}: offline {offline_top}, live {live.top1 or live.skipped}, "
                f"truth {truth}[/]"
            )
    except MissionControlError as exc:
        raise fail(str(exc)) from None
    summary = summarize(rows)
    console.print(table)
    console.print(summary_line(summary))
    if json_out:
        json_out.write_text(json.dumps({"summary": summary, "cases": rows}, indent=2))
        console.print(f"[dim]Wrote {json_out}[/]")


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Return counts, agreement, accuracy of both paths on the cases that ran live, and latency."""
    ran = [r for r in rows if not r["skipped"]]
    latencies = [r["latency_s"] for r in ran if r["latency_s"] is not None]
    client = [r["client_latency_s"] for r in ran if r["client_latency_s"] is not None]
    return {
        "cases": len(rows),
        "ran_live": len(ran),
        "skipped": len(rows) - len(ran),
        "agree": sum(1 for r in ran if r["agree"]),
        "live_top1_correct": sum(1 for r in ran if r["top1"] == r["truth"]),
        "offline_top1_correct_same_cases": sum(1 for r in ran if r["offline_top1"] == r["truth"]),
        "offline_top1_correct_all_cases": sum(1 for r in rows if r["offline_top1"] == r["truth"]),
        "brief_p50_s": statistics.median(client) if client else None,  # alert sent → brief stored, read
        "brief_p99_s": percentile(client, 0.99),
        "brief_max_s": max(client, default=None),
        "diagnosis_p50_s": statistics.median(latencies) if latencies else None,  # received → diagnosed
        "diagnosis_p99_s": percentile(latencies, 0.99),
    }


def summary_line(s: dict[str, Any]) -> str:
    """Return the summary as one readable line."""
    if not s["ran_live"]:
        return f"{s['cases']} case(s), none ran live (no alert fired)"
    return (
        f"{s['ran_live']} of {s['cases']} case(s) ran live ({s['skipped']} had no alert); live top-1 = "
        f"offline top-1 on {s['agree']}/{s['ran_live']}; correct: live {s['live_top1_correct']}, offline "
        f"{s['offline_top1_correct_same_cases']} (same cases); alert → brief stored "
        f"p50 {s['brief_p50_s']:.2f} s, p99 {s['brief_p99_s']:.2f} s "
        f"(diagnosis done p99 {s['diagnosis_p99_s']:.2f} s)"
    )
