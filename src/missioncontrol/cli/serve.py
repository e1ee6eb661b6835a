"""`missionctl serve`: the live service (API, ingest, investigation worker) under uvicorn."""

from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from missioncontrol import bootstrap
from missioncontrol.api.app import create_app
from missioncontrol.settings import Settings

console = Console(stderr=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve the API: alert webhooks in, incidents and briefs out (SQLite under the state dir by default)."""
    settings = Settings()
    runtime = bootstrap.build_runtime(settings)
    where = (settings.database_url and "the configured database") or str(settings.state_dir / "state.db")
    token_hint = "" if settings.api_tokens else f" (bearer token in {settings.state_dir / 'api-token'})"
    console.print(f"Mission Control on [bold]http://{host}:{port}[/] — state in {where}{token_hint}")
    uvicorn.run(create_app(runtime), host=host, port=port, log_level=log_level, access_log=False)
