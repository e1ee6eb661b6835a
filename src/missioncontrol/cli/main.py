"""The `missionctl` command line: demo, investigate, bench and dataset tools."""

import gc
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from missioncontrol import bootstrap
from missioncontrol.cli import (
    bench_board,
    bench_e2e,
    bench_learn,
    bench_live,
    bench_otlp,
    bench_telemetry,
    demo,
    incidents,
    knowledge,
    mcp,
    replay,
    respond,
    serve,
    web,
)
from missioncontrol.cli.cases import one_case, time_modes
from missioncontrol.cli.connectors import catalog_app, connectors_app
from missioncontrol.cli.errors import fail
from missioncontrol.cli.render import bench_table, brief, scale_table
from missioncontrol.cli.serialize import diagnosis_to_dict
from missioncontrol.domain import MissionControlError, TimeMode
from missioncontrol.evaluation.bench import run_bench
from missioncontrol.settings import Settings

app = typer.Typer(
    help="Mission Control: from an alert to a ranked, evidence-backed root-cause brief.", no_args_is_help=True
)
dataset_app = typer.Typer(help="List and export incident cases.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")
app.add_typer(connectors_app, name="connectors")
app.add_typer(catalog_app, name="catalog")
app.command()(serve.serve)
app.command()(serve.worker)
app.command()(demo.demo)
app.command()(replay.replay)
app.command("bench-e2e")(bench_e2e.bench_e2e)
app.command()(mcp.mcp)  # the investigation tools over stdio for other agents
app.add_typer(web.web_app, name="web")  # web sign-in: hash-password
app.command()(incidents.incidents)  # the state database's incidents, newest first
app.command()(incidents.show)  # one incident's latest brief
app.command()(knowledge.resolve)
app.command()(knowledge.feedback)
app.command()(respond.approve)  # respond: approve an action request as a policy principal
app.command("page-bench")(respond.page_bench)  # respond: alert → page latency through the live service
app.add_typer(respond.audit_app, name="audit")  # respond: audit verify | list
app.add_typer(respond.policy_app, name="policy")  # respond: policy check FILE
console = Console()

DataOption = Annotated[
    Path | None, typer.Option("--data", help="Datasets root (default ../shared/datasets where it exists).")
]
TimeOption = Annotated[
    str, typer.Option("--time", help="given: fault start handed over; found: engine finds it.")
]


@app.command()
def investigate(
    case: Annotated[str, typer.Argument(help="A case folder, DATASET#N (1-based), or a case id.")],
    data: DataOption = None,
    time_mode: TimeOption = "found",
    as_json: Annotated[bool, typer.Option("--json", help="Print the diagnosis as JSON.")] = False,
    show_truth: Annotated[bool, typer.Option("--truth", help="Also print the truth, if known.")] = False,
) -> None:
    """Investigate one incident case and print its brief."""
    settings = Settings()
    modes = time_modes(time_mode)
    if len(modes) != 1:
        raise fail("--time must be given or found for one investigation, not both")
    mode = modes[0]
    try:
        labeled = one_case(case, settings, data, mode)
        diagnosis = bootstrap.build_engine(settings).diagnose(labeled.case)
    except MissionControlError as exc:
        raise fail(str(exc)) from None
    if as_json:
        console.print_json(json.dumps(diagnosis_to_dict(diagnosis)))
    else:
        brief(console, labeled.case, diagnosis, truth=labeled.truth if show_truth else None)


@app.command()
def bench(
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset", help="nezha-tt, nezha-ob, rcd-sockshop, simulated or cases:PATH; repeatable."
        ),
    ] = None,
    data: DataOption = None,
    time_mode: TimeOption = "both",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the results to this JSON file.")
    ] = None,
    cases_out: Annotated[
        Path | None, typer.Option("--cases", help="Write per-case results to this JSON file.")
    ] = None,
    scale: Annotated[
        bool, typer.Option("--scale", help="Time diagnoses on simulated estates of 50/500/5,000.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Only the first N cases of each dataset.")
    ] = None,
    learn: Annotated[
        bool,
        typer.Option(
            "--learn", help="Replay the cases as one sequence, with and without the knowledge bank."
        ),
    ] = False,
    telemetry: Annotated[
        bool,
        typer.Option(
            "--telemetry", help="Telemetry store spans/s, read latency and graph_at at 50/500/5,000."
        ),
    ] = False,
    otlp: Annotated[
        bool,
        typer.Option("--otlp", help="OTLP/HTTP spans per second into the telemetry store, over loopback."),
    ] = False,
    board: Annotated[
        bool, typer.Option("--board", help="Time the board over HTTP with 1,000 open incidents.")
    ] = False,
    ingest: Annotated[
        bool, typer.Option("--ingest", help="Durable alert ingest over loopback HTTP: alerts/s, p99.")
    ] = False,
    ingest_alerts: Annotated[
        int, typer.Option("--ingest-alerts", help="--ingest: alerts sent per batch size.")
    ] = 30_000,
    split_worker: Annotated[
        bool, typer.Option("--split-worker", help="--ingest: group and investigate in a worker process.")
    ] = False,
) -> None:
    """Score our engine and the baselines side by side on real or simulated incidents."""
    if ingest:
        return bench_live.run(json_out, alerts=ingest_alerts, connections=64, split_worker=split_worker)
    if board:
        return bench_board.main(json_out)
    if learn:
        return bench_learn.run(dataset, data, time_mode, json_out, cases_out, limit)
    if telemetry:
        bench_telemetry.run(json_out)
        return None
    if otlp:
        bench_otlp.run(json_out)
        return
    settings = Settings()
    if scale:
        rows = _scale_bench(settings)
        console.print(scale_table(rows))
        if json_out:
            json_out.write_text(json.dumps(rows, indent=2))
        return
    names = dataset or ["nezha-tt", "nezha-ob", "rcd-sockshop"]
    modes = time_modes(time_mode)
    try:
        # Check every name before spending minutes on the first dataset.
        sources = {name: bootstrap.open_source(name, settings, data_root=data) for name in names}
    except MissionControlError as exc:
        raise fail(str(exc)) from None
    reports: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    methods = bootstrap.build_methods(settings)
    for name in names:
        for mode in modes:
            try:
                cases = list(_take(sources[name].cases(time_mode=mode), limit))
            except MissionControlError as exc:
                raise fail(str(exc)) from None
            _settle()
            with _progress() as progress:
                task = progress.add_task(f"{name} ({mode.value})", total=len(cases))
                report = run_bench(name, mode, cases, methods, on_case=_advance(progress, task))
            summary = report.to_json()
            reports.append(summary)
            runs.extend({"dataset": name, "time": mode.value, **r} for r in report.runs_to_json())
            console.print(bench_table(summary))
    if json_out:
        json_out.write_text(json.dumps(reports, indent=2))
        console.print(f"[dim]Wrote {json_out}[/]")
    if cases_out:
        cases_out.write_text(json.dumps(runs, indent=2))


def _advance(progress: Progress, task: TaskID) -> Callable[[int], None]:
    return lambda _case: progress.advance(task)


def _settle() -> None:
    """Move everything loaded so far out of the cyclic collector's reach before timing.

    Loaded telemetry is millions of long-lived objects; without this, a full collection that
    happens to fall inside one diagnosis scans them all and adds up to half a second to it. A
    long-running service does the same after loading (gc.freeze).
    """
    gc.collect()
    gc.freeze()


def _take(cases: Any, limit: int | None) -> Any:
    for i, c in enumerate(cases):
        if limit is not None and i >= limit:
            return
        yield c


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _scale_bench(
    settings: Settings, sizes: tuple[int, ...] = (50, 500, 5000), per_size: int = 12
) -> list[dict[str, Any]]:
    engine = bootstrap.build_engine(settings)
    rows: list[dict[str, Any]] = []
    with _progress() as progress:
        for size, full in ((size, full) for size in sizes for full in (False, True)):
            telemetry = "metrics, logs, spans" if full else "metrics"
            task = progress.add_task(f"{size} services, {telemetry}", total=per_size)
            seconds: list[float] = []
            cpu_seconds: list[float] = []  # this process's CPU: what the diagnosis costs whatever else runs
            hits = 0
            cases = bootstrap.scale_cases(size, count=per_size + 1, with_logs_and_spans=full)
            _settle()
            engine.diagnose(cases[0].case)  # warm-up, not timed: first-call costs are not diagnosis
            for labeled in cases[1:]:
                started, started_cpu = time.perf_counter(), time.process_time()
                diagnosis = engine.diagnose(labeled.case)
                seconds.append(time.perf_counter() - started)
                cpu_seconds.append(time.process_time() - started_cpu)
                if labeled.truth and diagnosis.ranked_services[:1] == (labeled.truth.service,):
                    hits += 1
                progress.advance(task)
            seconds.sort()
            cpu_seconds.sort()
            rows.append(
                {
                    "services": size,
                    "telemetry": telemetry,
                    "cases": len(seconds),
                    "p50_s": round(statistics.median(seconds), 4),
                    "p99_s": round(seconds[min(len(seconds) - 1, int(0.99 * len(seconds)))], 4),
                    "max_s": round(seconds[-1], 4),
                    "cpu_p50_s": round(statistics.median(cpu_seconds), 4),
                    "cpu_p99_s": round(
                        cpu_seconds[min(len(cpu_seconds) - 1, int(0.99 * len(cpu_seconds)))], 4
                    ),
                    "top1_hits": hits,
                    "load_average": round(os.getloadavg()[0], 2),
                }
            )
    return rows


@dataset_app.command("list")
def dataset_list(data: DataOption = None) -> None:
    """List the datasets and how many cases each holds."""
    settings = Settings()
    for name in bootstrap.DATASETS:
        try:
            source = bootstrap.open_source(name, settings, data_root=data)
            count = sum(1 for _ in source.cases(time_mode=TimeMode.GIVEN))
            console.print(f"{name}: {count} cases")
        except MissionControlError as exc:
            console.print(f"{name}: [yellow]unavailable[/] ({exc})")


@dataset_app.command("export")
def dataset_export(
    dataset: Annotated[str, typer.Argument(help="Dataset name, or DATASET#N for one case.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write case folders into.")],
    data: DataOption = None,
    compress: Annotated[bool, typer.Option("--gzip", help="Write .csv.gz files.")] = False,
) -> None:
    """Write loaded cases as case folders (the neutral exchange format), truth included."""
    settings = Settings()
    name, _, index = dataset.partition("#")
    if index and not (index.isdigit() and int(index) >= 1):
        raise fail(f"case number in {dataset!r} must be a whole number from 1, not {index!r}")
    wanted = int(index) if index else None
    try:
        source = bootstrap.open_source(name, settings, data_root=data)
        written = 0
        for i, labeled in enumerate(source.cases(time_mode=TimeMode.GIVEN), 1):
            if wanted is not None and i != wanted:
                continue
            folder = out / f"case-{i:03d}"
            if folder.exists():
                raise fail(f"{folder} exists already: export into an empty folder")
            bootstrap.export_case(labeled, folder, compress=compress)
            written += 1
            if wanted is not None:
                break
    except MissionControlError as exc:
        raise fail(str(exc)) from None
    if wanted is not None and written == 0:
        raise fail(f"no case {dataset!r}: {name} has fewer than {wanted} cases")
    console.print(f"Wrote {written} case folder(s) under {out}")
