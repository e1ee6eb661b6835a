"""Map a chat-completions response to plain text. Pure; no I/O.

Only the assistant's text content is kept. Tool calls, function calls and any other structured part
of the reply are dropped on purpose: the model narrates and never acts.
"""

from collections.abc import Mapping
from typing import Any


def to_text(completion: Mapping[str, Any]) -> str:
    """Return the first choice's text content, or "" when the reply carries none."""
    choices = completion.get("choices") or []
    if not choices:
        return ""
    message = choices[0].get("message") or {}
    content = message.get("content")
    return content if isinstance(content, str) else ""
