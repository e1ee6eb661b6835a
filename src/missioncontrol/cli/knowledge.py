"""`missionctl resolve` and `missionctl feedback`: teach the knowledge bank from the terminal.

Both talk to the state database from settings (`MISSIONCONTROL_DATABASE_URL`, else SQLite under the
state directory), the same one `missionctl serve` uses.
"""

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from missioncontrol import bootstrap
from missioncontrol.cli.errors import fail
from missioncontrol.domain import FaultKind, IncidentId, MissionControlError, ServiceId
from missioncontrol.domain.knowledge import Feedback, FeedbackVerdict, Resolution
from missioncontrol.engine.learn import remember_brief
from missioncontrol.engine.resolve import resolve_incident
from missioncontrol.ports import BriefStore, IncidentStore, KnowledgeBank
from missioncontrol.settings import Settings
from missioncontrol.storage.incidents import SqlIncidentStore

console = Console()
FAULTS = ", ".join(f.value for f in FaultKind)


def _fault(value: str) -> FaultKind:
    try:
        return FaultKind(value)
    except ValueError:
        raise fail(f"--fault must be one of {FAULTS}, not {value!r}") from None


def _open(incident_id: str) -> tuple[KnowledgeBank, SqlIncidentStore]:
    """Return the bank with the incident fingerprinted (from its latest brief if need be), and the briefs."""
    bank, store = bootstrap.open_knowledge_state(Settings())
    if bank.past_incident(incident_id) is None:
        _remember(bank, store, store, incident_id)
    return bank, store


def _remember(bank: KnowledgeBank, incidents: IncidentStore, briefs: BriefStore, incident_id: str) -> None:
    incident = incidents.incident(IncidentId(incident_id))
    if incident is None:
        raise fail(f"no incident {incident_id!r} in the state database (see `missionctl incidents`)")
    brief = briefs.latest_brief(IncidentId(incident_id))
    if brief is None:
        raise fail(f"incident {incident_id!r} has no brief yet: its investigation is still running")
    remember_brief(bank, brief, incident.alerts)


def resolve(
    incident: Annotated[str, typer.Argument(help="The incident id.")],
    service: Annotated[str | None, typer.Option("--service", help="The service that caused it.")] = None,
    fault: Annotated[str | None, typer.Option("--fault", help=f"What went wrong: {FAULTS}.")] = None,
    fix: Annotated[str, typer.Option("--fix", help="What fixed it, for the next operator.")] = "",
    notes: Annotated[str, typer.Option("--notes", help="Anything else worth knowing.")] = "",
    by: Annotated[str, typer.Option("--by", help="Who confirmed the cause.")] = "cli",
    not_actionable: Annotated[
        bool, typer.Option("--not-actionable", help="A false alarm or noisy alert: no cause to record.")
    ] = False,
) -> None:
    """Record an incident's confirmed cause and fix in the knowledge bank, and close the incident."""
    if not not_actionable and (service is None or fault is None):
        raise fail("--service and --fault are required (or --not-actionable for a false alarm)")
    kind = _fault(fault) if fault is not None and not not_actionable else None
    try:
        bank, store = _open(incident)
        resolve_incident(
            Resolution(
                incident_id=incident,
                cause_service=ServiceId(service) if service and not not_actionable else None,
                cause_fault=kind,
                fix=fix,
                resolved_at=datetime.now(UTC),
                resolved_by=by,
                notes=notes,
                is_actionable=not not_actionable,
            ),
            bank=bank,
            incidents=store,
            briefs=store,
        )
    except MissionControlError as exc:
        raise fail(str(exc)) from None
    what = f"{service} ({kind})" if kind is not None else "not actionable"
    console.print(f"Resolved {incident}: {what}. The knowledge bank will use it from the next incident on.")


def feedback(
    incident: Annotated[str, typer.Argument(help="The incident id.")],
    hypothesis: Annotated[int, typer.Option("--hypothesis", min=1, help="1-based rank in the latest brief.")],
    confirm: Annotated[bool, typer.Option("--confirm/--reject", help="Confirm or reject that hypothesis.")],
    note: Annotated[str, typer.Option("--note", help="Why.")] = "",
    by: Annotated[str, typer.Option("--by", help="Who says so.")] = "cli",
) -> None:
    """Confirm or reject one hypothesis of an incident's latest brief."""
    try:
        bank, briefs = _open(incident)
        brief = briefs.latest_brief(IncidentId(incident))
        hypotheses = brief.diagnosis.hypotheses if brief is not None else ()
        if hypothesis > len(hypotheses):
            raise fail(f"--hypothesis {hypothesis} does not exist: the latest brief has {len(hypotheses)}")
        chosen = hypotheses[hypothesis - 1]
        verdict = FeedbackVerdict.CONFIRM if confirm else FeedbackVerdict.REJECT
        bank.record_feedback(
            Feedback(
                incident_id=incident,
                service=chosen.service,
                fault=chosen.fault,
                verdict=verdict,
                given_at=datetime.now(UTC),
                given_by=by,
                rank=hypothesis,
                note=note,
            )
        )
    except MissionControlError as exc:
        raise fail(str(exc)) from None
    console.print(
        f"Recorded: {verdict.value} hypothesis {hypothesis} of {incident} ({chosen.service}, {chosen.fault})."
    )
