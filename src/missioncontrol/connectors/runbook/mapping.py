"""Render a declared action's runner with bound arguments: argv items, URL, headers, JSON body.

Arguments have already been checked against the policy's patterns (`engine.actions.bind_args`). Each
argv item is rendered on its own and never passes through a shell, so a value cannot add arguments or
commands; URL values are percent-quoted; body values are placed into JSON strings by `json.dumps`, so
they cannot break out of the document.
"""

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from missioncontrol.domain.respond import CommandRunner, HttpRunner

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def render(template: str, args: Mapping[str, str], *, quote_values: bool = False) -> str:
    """Return `template` with each `{name}` replaced by its argument (percent-quoted if asked)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in args:
            raise KeyError(f"no argument for placeholder {{{name}}}")
        return quote(args[name], safe="") if quote_values else args[name]

    return PLACEHOLDER.sub(value, template)


def to_argv(runner: CommandRunner, args: Mapping[str, str]) -> list[str]:
    """Return the argv to execute, item by item."""
    return [render(item, args) for item in runner.argv]


def to_http(runner: HttpRunner, args: Mapping[str, str]) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """Return (method, url, headers, body) to send."""
    url = render(runner.url, args, quote_values=True)
    headers = [(k, render(v, args)) for k, v in runner.headers]
    body = b""
    if runner.body:
        document = _fill(json.loads(runner.body), args)
        body = json.dumps(document, sort_keys=True).encode()
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("content-type", "application/json"))
    return runner.method, url, headers, body


def _fill(value: Any, args: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return render(value, args)
    if isinstance(value, dict):
        return {k: _fill(v, args) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, args) for v in value]
    return value
