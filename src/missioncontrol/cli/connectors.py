"""`missionctl connectors list`, `missionctl catalog load`: the connector registry, catalog files."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from missioncontrol import bootstrap
from missioncontrol.cli.errors import errors, fail
from missioncontrol.domain import MissionControlError
from missioncontrol.ports import ConnectorState
from missioncontrol.settings import Settings

connectors_app = typer.Typer(
    help="The connectors Mission Control has, and whether each is usable.", no_args_is_help=True
)
catalog_app = typer.Typer(help="The service catalog (Backstage catalog-info.yaml).", no_args_is_help=True)
console = Console()
STYLE = {ConnectorState.ENABLED: "green", ConnectorState.DISABLED: "yellow", ConnectorState.FAILED: "red"}


@connectors_app.command("list")
def list_connectors() -> None:
    """Show every registered connector: enabled, disabled (reason) or failed (error).

    Configured pull sources (Prometheus) are asked whether they answer now.
    """
    try:
        statuses = bootstrap.connector_statuses(Settings(), probe=True)
    except MissionControlError as error:
        raise fail(str(error)) from None
    table = Table(title="Connectors (entry point group missioncontrol.connectors)")
    table.add_column("connector")
    table.add_column("status")
    table.add_column("capabilities")
    table.add_column("detail")
    for status in statuses:
        spec = status.spec
        capabilities = ", ".join(sorted(c.value for c in spec.capabilities)) if spec is not None else ""
        detail = status.detail or (spec.summary if spec is not None else "")
        table.add_row(
            status.name, f"[{STYLE[status.state]}]{status.state.value}[/]", capabilities, escape(detail)
        )
    console.print(table)
    if any(s.state is ConnectorState.FAILED for s in statuses):
        raise typer.Exit(code=1)


@catalog_app.command("load")
def load(
    paths: Annotated[list[Path], typer.Argument(help="catalog-info.yaml files, or folders holding them.")],
) -> None:
    """Record Backstage catalog-info.yaml files (Component, System, Group) in the state store, as of now."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise fail(f"no such file or folder: {', '.join(missing)}")
    try:
        catalog = bootstrap.load_catalog_files(paths, Settings(), at=datetime.now(UTC))
    except MissionControlError as error:
        raise fail(str(error)) from None
    for note in catalog.notes:
        console.print(f"[dim]{note}[/]")
    for rejection in catalog.rejections:
        errors.print(f"[yellow]rejected:[/] {escape(str(rejection))}")
    console.print(
        f"recorded {len(catalog.entries)} components and {len(catalog.teams)} teams"
        + (f"; {len(catalog.rejections)} documents rejected" if catalog.rejections else "")
    )
    if catalog.rejections and not (catalog.entries or catalog.teams):
        raise typer.Exit(code=2)
