"""Redact secrets from free text (log lines, alert annotations, span attributes, model output). Pure.

Used at ingestion for log and alert text, again before any text reaches a language model, and once
more on whatever the model writes back. It errs on the side of redacting: a false positive costs a
word in a log line; a false negative leaks a credential.
"""

import re
from dataclasses import replace
from functools import lru_cache

from missioncontrol.domain.alerts import Alert
from missioncontrol.domain.telemetry import Telemetry

REDACTED = "[REDACTED]"

# Each pattern matches a secret in a known shape, or a `key=value` / `key: value` pair whose key says
# it is a secret. Values stop at whitespace, quotes, commas, semicolons, ampersands or braces.
_VALUE = r"""[^\s"'`,;&}{)(<>]+"""
PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),  # Slack tokens
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}\b"),  # OpenAI-style API keys
    re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"),  # GitLab
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"),  # JWT
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{12,}"),  # Authorization header values
    re.compile(r"(?i)(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
    re.compile(
        r"(?i)\b[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
        r"|client[_-]?secret|credential|auth)[\w.-]*\b[\"']?\s*[:=]\s*[\"']?"
        # the value is not itself the next key ("secret: api_key: abc" redacts abc, not "api_key:")
        r"(?![\w.-]+[\"']?\s*[:=])" + _VALUE
    ),
)


def redact_secrets(text: str) -> str:
    """Return `text` with every secret-looking value replaced by [REDACTED]."""
    for pattern in PATTERNS:
        text = pattern.sub(_replacement, text)
    return text


def _replacement(match: re.Match[str]) -> str:
    whole = match.group(0)
    # For `key=value` keep the key so the line still reads: "password=[REDACTED]".
    for sep in ("=", ":"):
        if sep in whole and not whole.startswith("-----") and "://" not in whole:
            key, _, _value = whole.partition(sep)
            if key.strip(" \"'").replace("-", "").replace("_", "").replace(".", "").isalnum():
                return f"{key}{sep}{REDACTED}"
    return REDACTED


def redact_alert(alert: Alert) -> Alert:
    """Return `alert` with secrets redacted from its summary and label values (at ingestion)."""
    labels = {k: _redact_short(v) for k, v in alert.labels.items()}
    summary = _redact_short(alert.summary)
    if summary == alert.summary and labels == alert.labels:
        # Nearly every alert holds no secret: rebuilding it anyway (a frozen dataclass's `replace`
        # re-runs its validation) was most of redaction's cost at ingest.
        return alert
    return replace(alert, summary=summary, labels=labels)


@lru_cache(maxsize=4096)
def _redact_cached(text: str) -> str:
    return redact_secrets(text)


def _redact_short(text: str) -> str:
    # Alert label values and summaries repeat across a storm (service, alertname, severity, the same
    # summary), and eleven regex passes per value were a tenth of ingest's CPU: short ones are
    # remembered. Long ones are not, so the cache stays small.
    return _redact_cached(text) if len(text) <= 256 else redact_secrets(text)


def redact_logs(telemetry: Telemetry) -> Telemetry:
    """Return `telemetry` with secrets redacted from every log line (at ingestion)."""
    if not telemetry.logs:
        return telemetry
    logs = tuple(replace(r, message=redact_secrets(r.message)) for r in telemetry.logs)
    return replace(telemetry, logs=logs)
