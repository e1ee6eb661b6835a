"""Brief → Slack incoming-webhook message (Block Kit), and a check against Slack's documented limits.

Layout: header (incident and prime suspect), a fields section (suspect, confidence, owner, symptom),
the dependency path, the evidence as bullets, the decision, a context line, and a button to the brief.

Limits encoded (Slack Block Kit reference, "Blocks" and "Composition objects"): at most 50 blocks
per message; `header` text is plain_text of at most 150 characters; a `section` has `text` or
`fields`, its text at most 3000 characters, at most 10 fields of at most 2000 characters each; a
`context` has at most 10 elements; an `actions` block at most 25 elements; a button's text at most
75 characters and its url at most 3000; a `block_id` at most 255 characters. The top-level `text` is
the notification fallback (Slack truncates message text past 40,000 characters). Text from telemetry
is escaped for mrkdwn (`&`, `<`, `>`), so a log line cannot inject a mention or a link.
"""

from typing import Any

from missioncontrol.domain import Brief, Stance
from missioncontrol.domain.respond import Verdict

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_URL = 3000
MAX_BLOCK_ID = 255
MAX_MESSAGE_TEXT = 40000
BLOCK_TYPES = frozenset({"header", "section", "divider", "context", "actions", "image", "rich_text"})
MAX_EVIDENCE = 6


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Return `text` cut to `limit` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit)}


def to_message(brief: Brief, *, link: str = "", title: str = "") -> dict[str, Any]:
    """Return the incoming-webhook JSON body (`text` fallback + `blocks`) for `brief`."""
    diagnosis = brief.diagnosis
    top = diagnosis.hypotheses[0] if diagnosis.hypotheses else None
    decision = brief.decision
    name = title or f"Incident {brief.incident_id}"
    if top is not None:
        headline = f"{name}: suspected cause {top.service} ({top.fault}, {top.confidence:.0%})"
    else:
        headline = f"{name}: no hypothesis yet"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "block_id": "header",
            "text": {"type": "plain_text", "text": clip(headline, MAX_HEADER)},
        }
    ]
    if top is not None:
        confident = "confident" if diagnosis.is_confident else "not confident"
        fields = [
            _mrkdwn(f"*Prime suspect*\n{escape(top.service)} — {escape(top.cause)}", MAX_FIELD_TEXT),
            _mrkdwn(f"*Confidence*\n{top.confidence:.0%} ({confident})", MAX_FIELD_TEXT),
            _mrkdwn(f"*Owner*\n{escape(brief.owner or '-')}", MAX_FIELD_TEXT),
            _mrkdwn(f"*Symptom*\n{escape(diagnosis.symptom or '-')}", MAX_FIELD_TEXT),
        ]
        blocks.append({"type": "section", "block_id": "suspect", "fields": fields[:MAX_FIELDS]})
        if top.path:
            path = " → ".join(escape(s) for s in top.path)
            blocks.append({"type": "section", "block_id": "path", "text": _mrkdwn(f"*Path*  {path}")})
        supporting = [e for e in top.evidence if e.stance is Stance.SUPPORTS][:MAX_EVIDENCE]
        if supporting:
            bullets = "\n".join(f"• {escape(e.summary)} _({escape(e.source)})_" for e in supporting)
            blocks.append(
                {"type": "section", "block_id": "evidence", "text": _mrkdwn(f"*Evidence*\n{bullets}")}
            )
        others = [f"{escape(h.service)} ({h.fault}, {h.confidence:.0%})" for h in diagnosis.hypotheses[1:3]]
        if others:
            blocks.append(
                {
                    "type": "context",
                    "block_id": "alternatives",
                    "elements": [_mrkdwn("Alternatives: " + ", ".join(others))],
                }
            )
    if decision is not None:
        icon = ":white_check_mark: *Act*" if decision.verdict is Verdict.ACT else ":arrow_up: *Escalate*"
        lines = [f"{icon} (on duty: {escape(decision.on_duty_tier)})", escape(decision.summary)]
        for option in decision.actions[:8]:
            approval = (
                f" — approval: {', '.join(option.needs_approval_from)}" if option.needs_approval_from else ""
            )
            lines.append(f"• `{escape(option.action)}` {escape(option.service)}{escape(approval)}")
        if decision.page_team:
            lines.append(f"Paging *{escape(decision.page_team)}* (owner of the suspected cause)")
        blocks.append({"type": "divider"})
        blocks.append({"type": "section", "block_id": "decision", "text": _mrkdwn("\n".join(lines))})
    context = f"Brief v{brief.version} · generated {brief.generated_at.isoformat(timespec='seconds')}"
    if diagnosis.blast_radius:
        context += " · blast radius: " + ", ".join(escape(s) for s in diagnosis.blast_radius[:10])
    blocks.append({"type": "context", "block_id": "meta", "elements": [_mrkdwn(context)]})
    if link:
        blocks.append(
            {
                "type": "actions",
                "block_id": "links",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "open_brief",
                        "text": {"type": "plain_text", "text": "Open the brief"},
                        "url": clip(link, MAX_URL),
                    }
                ],
            }
        )
    fallback = headline + (f" — {decision.summary}" if decision is not None else "")
    return {"text": clip(fallback, MAX_MESSAGE_TEXT), "blocks": blocks[:MAX_BLOCKS]}


def message_problems(message: dict[str, Any]) -> list[str]:
    """Return every way `message` breaks Slack's documented Block Kit limits (empty when it fits)."""
    problems: list[str] = []
    text = message.get("text")
    if not isinstance(text, str) or not text:
        problems.append("text: a non-empty fallback text is required with blocks")
    elif len(text) > MAX_MESSAGE_TEXT:
        problems.append(f"text: {len(text)} characters > {MAX_MESSAGE_TEXT}")
    blocks = message.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return [*problems, "blocks: a non-empty list is required"]
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"blocks: {len(blocks)} blocks > {MAX_BLOCKS}")
    ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            problems.append(f"{where}.type: {kind!r} is not a block type")
        block_id = block.get("block_id")
        if block_id is not None:
            if len(block_id) > MAX_BLOCK_ID:
                problems.append(f"{where}.block_id: longer than {MAX_BLOCK_ID}")
            if block_id in ids:
                problems.append(f"{where}.block_id: {block_id!r} is not unique")
            ids.add(block_id)
        if kind == "header":
            t = block.get("text", {})
            if t.get("type") != "plain_text":
                problems.append(f"{where}.text: a header's text must be plain_text")
            if not 0 < len(t.get("text", "")) <= MAX_HEADER:
                problems.append(f"{where}.text.text: 1..{MAX_HEADER} characters")
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: a section needs text or fields")
            if "text" in block:
                problems += _text_problems(block["text"], f"{where}.text", MAX_SECTION_TEXT)
            fields = block.get("fields", [])
            if len(fields) > MAX_FIELDS:
                problems.append(f"{where}.fields: {len(fields)} > {MAX_FIELDS}")
            for j, f in enumerate(fields):
                problems += _text_problems(f, f"{where}.fields[{j}]", MAX_FIELD_TEXT)
        elif kind == "context":
            elements = block.get("elements", [])
            if not 0 < len(elements) <= MAX_CONTEXT_ELEMENTS:
                problems.append(f"{where}.elements: 1..{MAX_CONTEXT_ELEMENTS} elements")
            for j, e in enumerate(elements):
                problems += _text_problems(e, f"{where}.elements[{j}]", MAX_SECTION_TEXT)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 0 < len(elements) <= MAX_ACTION_ELEMENTS:
                problems.append(f"{where}.elements: 1..{MAX_ACTION_ELEMENTS} elements")
            for j, e in enumerate(elements):
                if e.get("type") == "button":
                    if len(e.get("text", {}).get("text", "")) > MAX_BUTTON_TEXT:
                        problems.append(f"{where}.elements[{j}].text: longer than {MAX_BUTTON_TEXT}")
                    if len(e.get("url", "")) > MAX_URL:
                        problems.append(f"{where}.elements[{j}].url: longer than {MAX_URL}")
    return problems


def _text_problems(obj: Any, where: str, limit: int) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("mrkdwn", "plain_text"):
        return [f"{where}: a text object needs type mrkdwn or plain_text"]
    text = obj.get("text", "")
    if not 0 < len(text) <= limit:
        return [f"{where}.text: {len(text)} characters, must be 1..{limit}"]
    return []
