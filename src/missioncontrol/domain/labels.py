"""Map a data source's own fault label (e.g. `cpu_contention`) to a FaultKind. Pure; standard library only."""

import re

from missioncontrol.domain.diagnosis import FaultKind

# One row per rule, tried in order against each word of the label; the first word that any rule
# matches decides. A rule is a word prefix ("cpu" matches "cpu_contention" and "cpuhog") or, with a
# trailing "$", a whole word.
FAULT_LABELS: tuple[tuple[str, FaultKind], ...] = (
    ("cpu", FaultKind.CPU),
    ("mem", FaultKind.MEMORY),
    ("network", FaultKind.NETWORK),
    ("delay$", FaultKind.NETWORK),
    ("loss$", FaultKind.NETWORK),  # packet loss (RCAEval's "loss")
    ("packet", FaultKind.NETWORK),
    ("return$", FaultKind.WRONG_OUTPUT),
    ("wrong$", FaultKind.WRONG_OUTPUT),
    ("exception$", FaultKind.ERRORS),
    ("error", FaultKind.ERRORS),
    ("latency$", FaultKind.LATENCY),
)

_WORD = re.compile(r"[a-z0-9]+")


def fault_kind_from_label(label: str) -> FaultKind:
    """Return the FaultKind a source's fault label names, or UNKNOWN when no rule matches."""
    text = label.strip().lower()
    try:
        return FaultKind(text)
    except ValueError:
        pass
    for word in _WORD.findall(text):
        for rule, kind in FAULT_LABELS:
            if rule.endswith("$") and word == rule[:-1]:
                return kind
            if not rule.endswith("$") and word.startswith(rule):
                return kind
    return FaultKind.UNKNOWN
