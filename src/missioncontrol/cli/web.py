"""`missionctl web hash-password`: make the salted hash that MISSIONCONTROL_WEB_PASSWORDS keeps."""

from typing import Annotated

import typer
from rich.console import Console

from missioncontrol.web.auth import hash_password

web_app = typer.Typer(help="The board's sign-in.", no_args_is_help=True)
console = Console()


@web_app.command("hash-password")
def hash_password_command(
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="The new password.")
    ],
) -> None:
    """Print a salted PBKDF2-SHA256 hash to put in MISSIONCONTROL_WEB_PASSWORDS for a policy principal."""
    console.print(hash_password(password), soft_wrap=True, highlight=False)
