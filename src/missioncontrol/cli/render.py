"""Render briefs and benchmark tables for the terminal with rich."""

from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from missioncontrol.domain import Brief, Case, Diagnosis, Incident, Stance, Truth, Verdict


def brief(
    console: Console,
    case: Case,
    d: Diagnosis,
    *,
    truth: Truth | None = None,
    evidence_limit: int = 6,
    hypothesis_limit: int = 8,
) -> None:
    """Print the incident brief: impact, path as a tree, ranked hypotheses, evidence, alternatives."""
    head = Text()
    head.append(f"{case.id}", style="bold")
    if case.description:
        head.append(f" — {case.description}")
    head.append("\n")
    if case.alert is not None:
        a = case.alert
        head.append(
            f"Alert: {a.name} [{a.severity.value}] on {a.service or 'the front door'} ({a.signal}) ",
            style="red",
        )
        head.append(f"fired {a.started_at:%Y-%m-%d %H:%M:%S}Z\n")
        if a.summary:
            head.append(f"  {a.summary}\n", style="dim")
    else:
        head.append("No alert: the engine found the symptom and onset itself\n", style="yellow")
    head.append(f"Onset: {d.onset_at:%Y-%m-%d %H:%M:%S}Z" if d.onset_at else "Onset: unknown")
    for note in d.notes:
        head.append(f"\n  {note}", style="dim")
    console.print(Panel(head, title="Mission Control — incident brief", border_style="cyan"))

    if not d.hypotheses:
        console.print("[yellow]No hypothesis: no service's own signals moved.[/]")
        return
    top = d.hypotheses[0]
    verdict = "[green]confident[/]" if d.is_confident else "[yellow]no confident cause[/] (best guess below)"
    console.print(
        f"Prime suspect: [bold]{top.service}[/] — {top.cause} — confidence {top.confidence:.0%}, {verdict}"
    )
    if d.blast_radius:
        shown = ", ".join(d.blast_radius[:12]) + (" …" if len(d.blast_radius) > 12 else "")
        console.print(f"Blast radius ({len(d.blast_radius)} services upstream): {shown}")

    tree = Tree(f"[bold]{top.path[0]}[/] (symptom)" if len(top.path) > 1 else f"[bold]{top.path[0]}[/]")
    node = tree
    for hop in top.path[1:]:
        label = f"[bold red]{hop}[/] ← suspected cause" if hop == top.service else hop
        node = node.add(label)
    console.print(Panel(tree, title="Dependency path, symptom → cause", border_style="blue"))

    table = Table(title="Ranked hypotheses", show_lines=False)
    table.add_column("#", no_wrap=True, justify="right")
    table.add_column("service", no_wrap=True, max_width=26)
    table.add_column("fault", no_wrap=True)
    table.add_column("conf.", no_wrap=True, justify="right")
    table.add_column("lead evidence", overflow="fold")
    for i, h in enumerate(d.hypotheses[:hypothesis_limit], 1):
        table.add_row(
            str(i),
            h.service,
            h.fault.value,
            f"{h.confidence:.0%}",
            h.evidence[0].summary[:160] if h.evidence else "",
        )
    console.print(table)

    chain = Table(title=f"Evidence chain for {top.service}", show_lines=False)
    for col in ("stance", "source", "service", "what", "query"):
        chain.add_column(col, overflow="fold")
    for e in top.evidence[:evidence_limit]:
        style = "green" if e.stance is Stance.SUPPORTS else "yellow"
        chain.add_row(f"[{style}]{e.stance.value}[/]", e.source, e.service, e.summary, e.query[:80])
    console.print(chain)

    if d.weakened:
        weak = Table(title="Weakened alternatives", show_lines=False)
        weak.add_column("service")
        weak.add_column("fault")
        weak.add_column("why it lost", overflow="fold")
        for w in d.weakened:
            weak.add_row(w.hypothesis.service, w.hypothesis.fault.value, w.reason)
        console.print(weak)
    if truth is not None:
        hit = (
            [h.service for h in d.hypotheses].index(truth.service) + 1
            if truth.service in d.ranked_services
            else None
        )
        where = f"rank {d.ranked_services.index(truth.service) + 1}" if hit else "not ranked"
        console.print(
            Text(f"Truth (for scoring only): {truth.service} / {truth.fault} — {where}", style="dim")
        )


def bench_table(report: dict[str, Any]) -> Group:
    """Return the benchmark table for one dataset and time mode, with a per-fault breakdown."""
    title = f"{report['dataset']} — time {report['time']} — {report['cases']} cases"
    table = Table(title=title)
    table.add_column("method", no_wrap=True, min_width=14)
    for col in ("AC@1", "AC@3", "Avg@5", "MRR", "ECE", "med s", "p95 s", "MB"):
        table.add_column(col, justify="right", no_wrap=True)
    for name, m in report["methods"].items():
        table.add_row(
            name,
            f"{m['ac1']:.2f}",
            f"{m['ac3']:.2f}",
            f"{m['avg5']:.2f}",
            f"{m['mrr']:.2f}",
            f"{m['ece']:.2f}",
            f"{m['median_s']:.3f}",
            f"{m['p95_s']:.3f}",
            f"{m['peak_rss_mb']:.0f}",
        )
    faults = sorted({f for m in report["methods"].values() for f in m["by_fault"]})
    by_fault = Table(title="AC@1/Avg@5 by fault type (cases)")
    by_fault.add_column("method", no_wrap=True, min_width=14)
    counts = {
        f: next(m["by_fault"][f]["n"] for m in report["methods"].values() if f in m["by_fault"])
        for f in faults
    }
    for f in faults:
        by_fault.add_column(f"{f} ({counts[f]})", justify="right", overflow="fold")
    for name, m in report["methods"].items():
        cells = []
        for f in faults:
            s = m["by_fault"].get(f)
            cells.append(f"{s['ac1']:.2f}/{s['avg5']:.2f}" if s else "")
        by_fault.add_row(name, *cells)
    return Group(table, by_fault)


def scale_table(rows: Sequence[dict[str, Any]]) -> Table:
    """Return the diagnosis-time table per estate size."""
    table = Table(title="Diagnosis time by estate size (simulated)")
    columns = ("services", "telemetry", "cases", "p50 s", "p99 s", "max s", "CPU p50 s", "CPU p99 s")
    for col in (*columns, "top-1 hits", "load"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r["services"]),
            r["telemetry"],
            str(r["cases"]),
            f"{r['p50_s']:.3f}",
            f"{r['p99_s']:.3f}",
            f"{r['max_s']:.3f}",
            f"{r['cpu_p50_s']:.3f}",
            f"{r['cpu_p99_s']:.3f}",
            f"{r['top1_hits']}/{r['cases']}",
            f"{r['load_average']:.1f}",
        )
    return table


def brief_outcome(console: Console, b: Brief) -> None:
    """Print what the brief adds to the diagnosis: owner, decision, similar past incidents, notes."""
    if b.owner:
        console.print(f"Owner of the prime suspect: [bold]{b.owner}[/]")
    decision = b.decision
    if decision is not None:
        if decision.verdict is Verdict.ACT:
            lines = [f"[green]Act[/] — the {decision.on_duty_tier} on duty may:"]
            for option in decision.actions:
                approval = (
                    f" (needs approval from {', '.join(option.needs_approval_from)})"
                    if option.needs_approval_from
                    else ""
                )
                lines.append(f"  • {option.action} {option.service}{approval} — {option.reason}")
        else:
            lines = [f"[yellow]Escalate[/] to {decision.escalate_to or 'the next tier'}"]
            if decision.missing_authority:
                lines.append(f"  because {decision.missing_authority}")
        if decision.page_team:
            reach = f" — {', '.join(decision.page_contacts)}" if decision.page_contacts else ""
            lines.append(f"Page: {decision.page_team} (owner of the suspected cause){reach}")
        if decision.summary:
            lines.append(decision.summary)
        console.print(Panel("\n".join(lines), title="Decision", border_style="magenta"))
    if b.similar:
        table = Table(title="Similar past incidents", show_lines=False)
        for col in ("incident", "similarity", "cause", "fix"):
            table.add_column(col, overflow="fold")
        for s in b.similar:
            cause = f"{s.cause_service} ({s.cause_fault})" if s.cause_service else "not actionable"
            table.add_row(s.incident_id, f"{s.similarity:.2f}", cause, s.fix)
        console.print(table)
    for note in b.notes:
        console.print(f"[dim]{note}[/]")


def incident_table(rows: Sequence[tuple[Incident, Brief | None]]) -> Table:
    """Return incidents as a table, newest first, with each one's prime suspect where briefed."""
    table = Table(title="Incidents")
    for col in ("id", "status", "severity", "symptom", "opened", "prime suspect", "title"):
        table.add_column(col, overflow="fold")
    for incident, b in rows:
        suspect = "investigating…"
        if b is not None and b.diagnosis.hypotheses:
            top = b.diagnosis.hypotheses[0]
            suspect = f"{top.service} ({top.fault.value}, {top.confidence:.0%})"
        elif b is not None:
            suspect = "no hypothesis"
        table.add_row(
            incident.id,
            incident.status.value,
            incident.severity.value,
            incident.symptom or "",
            f"{incident.opened_at:%Y-%m-%d %H:%M}Z",
            suspect,
            incident.title,
        )
    return table
