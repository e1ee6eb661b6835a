"""How every command says it cannot go on: one line on stderr that names what was wrong, exit code 2."""

import typer
from rich.console import Console
from rich.markup import escape

errors = Console(stderr=True, soft_wrap=True)  # one error, one line, whatever the terminal width


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` as the command's error and return the exit to raise (`raise fail(...)`)."""
    errors.print(f"[red]error:[/] {escape(message)}")
    return typer.Exit(code=code)
