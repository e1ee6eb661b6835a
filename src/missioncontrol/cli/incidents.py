"""`missionctl incidents` and `missionctl show`: the state database's incidents and briefs, in a terminal.

Both read the state database from settings (`MISSIONCONTROL_DATABASE_URL`, else SQLite under the state
directory), the one `missionctl serve` writes.
"""

import json
from typing import Annotated

import typer
from rich.console import Console

from missioncontrol import bootstrap
from missioncontrol.cli.errors import fail
from missioncontrol.cli.render import brief, brief_outcome, incident_table
from missioncontrol.domain import Case, IncidentId, IncidentStatus, Telemetry
from missioncontrol.settings import Settings
from missioncontrol.storage.briefs import brief_to_json

console = Console()


def incidents(
    status: Annotated[
        str | None, typer.Option("--status", help="Only open, acknowledged or resolved incidents.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 50,
) -> None:
    """List incidents, newest first, with each one's prime suspect."""
    try:
        wanted = IncidentStatus(status) if status is not None else None
    except ValueError:
        choices = ", ".join(s.value for s in IncidentStatus)
        raise fail(f"--status must be one of {choices}, not {status!r}") from None
    _, store = bootstrap.open_knowledge_state(Settings())
    found = store.incidents(status=wanted, limit=limit)
    if not found:
        console.print("No incidents in the state database.")
        return
    console.print(incident_table([(i, store.latest_brief(i.id)) for i in found]))


def show(
    incident: Annotated[str, typer.Argument(help="The incident id (see `missionctl incidents`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the latest brief as JSON.")] = False,
) -> None:
    """Print an incident's latest brief: diagnosis, evidence, decision and precedent."""
    _, store = bootstrap.open_knowledge_state(Settings())
    found = store.incident(IncidentId(incident))
    if found is None:
        raise fail(f"no incident {incident!r} in the state database (see `missionctl incidents`)")
    latest = store.latest_brief(found.id)
    if as_json:
        if latest is None:
            raise fail(f"incident {incident!r} has no brief yet: its investigation is still running")
        console.print_json(json.dumps(brief_to_json(latest)))
        return
    for reason in found.grouping:
        console.print(f"[dim]{reason.fingerprint}: {reason.explanation}[/]")
    if latest is None:
        console.print(f"Incident {incident} ({found.status.value}) has no brief yet: investigating.")
        return
    alert = found.alerts[0] if found.alerts else None
    shown = Case(
        id=f"{found.id} (brief v{latest.version})",
        system="live",
        telemetry=Telemetry(),
        alert=alert,
        description=f"{found.title} — {found.status.value}",
    )
    brief(console, shown, latest.diagnosis)
    brief_outcome(console, latest)
