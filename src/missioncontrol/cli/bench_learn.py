"""`missionctl bench --learn`: replay the datasets as one sequence, with and without the knowledge bank."""

import gc
import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from missioncontrol import bootstrap
from missioncontrol.cli.cases import time_modes
from missioncontrol.cli.errors import fail
from missioncontrol.domain import Alert, LabeledCase, MissionControlError, TimeMode
from missioncontrol.evaluation.learn import replay
from missioncontrol.settings import Settings

DEFAULT_DATASETS = ("nezha-tt", "nezha-ob", "rcd-sockshop")
SEED = 7  # the fixed shuffle of the sequence; chosen before any run, never tuned

console = Console()


def _load(
    names: Sequence[str], settings: Settings, data: Path | None, mode: TimeMode, limit: int | None
) -> list[tuple[str, LabeledCase]]:
    cases: list[tuple[str, LabeledCase]] = []
    for name in names:
        source = bootstrap.open_source(name, settings, data_root=data)
        for i, labeled in enumerate(source.cases(time_mode=mode)):
            if limit is not None and i >= limit:
                break
            cases.append((name, labeled))
    return cases


def _lookup(alerts: dict[str, tuple[Alert, ...]]) -> Callable[[str], Sequence[Alert]]:
    return lambda incident_id: alerts.get(incident_id, ())


def _advance(progress: Progress, task: TaskID) -> Callable[[int], None]:
    return lambda _n: progress.advance(task)


def _table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"Learning from resolutions ({summary['time']}, seed {summary['seed']})")
    for column in (
        "cases",
        "n",
        "AC@1 without",
        "AC@1 with",
        "AC@3 without",
        "AC@3 with",
        "MRR w/o",
        "MRR with",
    ):
        table.add_column(column, justify="right" if column != "cases" else "left")
    rows = [("all", summary["overall"]), ("never-seen cause", summary["never_seen_cause"])]
    rows += [("seen cause", summary["seen_cause"])]
    rows += [(name, s) for name, s in summary["by_dataset"].items()]
    for label, s in rows:
        table.add_row(
            label,
            str(s["n"]),
            f"{s['ac1_without']:.3f}",
            f"[bold]{s['ac1_with']:.3f}[/]",
            f"{s['ac3_without']:.3f}",
            f"{s['ac3_with']:.3f}",
            f"{s['mrr_without']:.3f}",
            f"{s['mrr_with']:.3f}",
        )
    top3 = summary["same_cause_in_top3"]
    rate = f"{top3['rate']:.3f}" if top3["rate"] is not None else "n/a"
    table.caption = (
        f"same-cause past incident in the top 3 similar: {top3['hits']}/{top3['n']} = {rate}; "
        f"helped {summary['helped']}, hurt {summary['hurt']}; "
        f"median enrich {summary['median_enrich_s']:.4f} s"
    )
    return table


def run(
    dataset: list[str] | None,
    data: Path | None,
    time_mode: str,
    json_out: Path | None,
    cases_out: Path | None,
    limit: int | None,
    *,
    seed: int = SEED,
) -> None:
    """Replay the datasets' cases as one shuffled sequence per time mode and report the bank's effect."""
    settings = Settings()
    names = dataset or list(DEFAULT_DATASETS)
    modes = time_modes(time_mode)
    try:
        for name in names:
            bootstrap.open_source(name, settings, data_root=data)  # check every name before loading
    except MissionControlError as exc:
        raise fail(str(exc)) from None
    try:
        embedder = bootstrap.build_embedder(settings)  # MISSIONCONTROL_EMBEDDINGS=true blends them in
    except MissionControlError as exc:
        raise fail(str(exc)) from None
    summaries: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    diagnoser = bootstrap.build_engine(settings)
    for mode in modes:
        try:
            cases = _load(names, settings, data, mode, limit)
        except MissionControlError as exc:
            raise fail(str(exc)) from None
        gc.collect()
        gc.freeze()  # loaded telemetry is long-lived: keep the cyclic collector off it, as `bench` does
        alerts: dict[str, tuple[Alert, ...]] = {
            c.case.id: (c.case.alert,) for _, c in cases if c.case.alert is not None
        }
        with tempfile.TemporaryDirectory(prefix="missionctl-learn-") as tmp:
            bank = bootstrap.open_knowledge_bank(f"sqlite:///{Path(tmp) / 'knowledge.db'}")
            enricher = bootstrap.build_knowledge_enricher(bank, alerts_of=_lookup(alerts), embedder=embedder)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task(f"learning sequence ({mode.value})", total=len(cases))
                report = replay(
                    cases,
                    time_mode=mode,
                    diagnoser=diagnoser,
                    enricher=enricher,
                    bank=bank,
                    seed=seed,
                    on_case=_advance(progress, task),
                )
        del cases
        gc.unfreeze()
        gc.collect()
        summary = report.summary() | {
            "datasets": names,
            "embeddings": embedder.name if embedder is not None else None,
        }
        summaries.append(summary)
        steps.extend({"time": mode.value, **s.to_json()} for s in report.steps)
        console.print(_table(summary))
    if json_out:
        json_out.write_text(json.dumps(summaries, indent=2))
        console.print(f"[dim]Wrote {json_out}[/]")
    if cases_out:
        cases_out.write_text(json.dumps(steps, indent=2))
