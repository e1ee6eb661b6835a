"""Mine log templates with drain3 and find, per service, templates that appeared, surged or vanished.

Variable fields (ids, numbers, addresses) are masked before mining, and each distinct masked line is
mined once: production logs repeat themselves, so this keeps mining cheap on busy services.
"""

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig

from missioncontrol.domain import LogRecord, ServiceId, Span

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<UUID>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<IP>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{12,}\b"), "<HEX>"),
    # Standalone numbers, with a unit if any (`523ms`, `12.5%`, `4kB`); `Impl#34` keeps its line
    # number, which tells two log sites apart.
    (
        re.compile(
            r"(?<![\w#])[-+]?\d+(?:[.,:]\d+)*(?:ns|us|µs|ms|s|m|h|d|b|kb|mb|gb|kib|mib|gib|%)?(?![\w])", re.I
        ),
        "<NUM>",
    ),
)
_LEVELS = ("ERROR", "FATAL", "SEVERE", "CRITICAL", "EXCEPTION")
_WARNING_LEVELS = ("WARN",)
_ERRORISH = re.compile(r"\b(error|exception|fail(ed|ure)?|refused|timeout|timed out|unavailable)\b", re.I)
# Events that grade a component's answers (OpenTelemetry GenAI semantic conventions; the OTLP connector
# writes a bodiless event as its name and outcome). A "fail" there is a wrong answer the component gave
# while working (200 OK, on time), not an error of the component: such lines point at wrong output.
GRADING_EVENTS = ("gen_ai.evaluation.result",)


# A log line's head (level, logger, the first words) identifies the site that wrote it; the tail is
# mostly payload (ids, names, dumped objects) whose variety would pass for new templates.
HEAD_TOKENS = 10


_HAS_DIGIT = re.compile(r"\d")


def mask(message: str, *, head_tokens: int = HEAD_TOKENS) -> str:
    """Return the head of the message with variable fields replaced by placeholders."""
    head = " ".join(message.split()[:head_tokens])
    # Variable fields hold digits (and no pattern spans a space, so masking the joined head equals
    # masking word by word); a head with no digit, common on busy services, needs no masking at all.
    if _HAS_DIGIT.search(head) is None:
        return head
    for pattern, placeholder in _MASKS:
        head = pattern.sub(placeholder, head)
    return head


def is_warning_line(record: LogRecord) -> bool:
    """Return True if the record is a warning by its level (or, with no level, by its head)."""
    level = record.level.upper()
    if level:
        return level.startswith(_WARNING_LEVELS)
    return any(x in record.message[:200] for x in _WARNING_LEVELS)


def is_error_line(record: LogRecord) -> bool:
    """Return True if the record is an error by its level, or by its words when it has no level."""
    level = record.level.upper()
    if level:
        return any(level.startswith(x) for x in _LEVELS)
    head = record.message[:200]
    if head.startswith(GRADING_EVENTS):
        return False
    return any(x in head for x in _LEVELS) or bool(_ERRORISH.search(head))


@dataclass(frozen=True, slots=True)
class TemplateShift:
    """A log template whose rate changed after the onset, in one service."""

    service: ServiceId
    template: str
    is_error: bool
    is_warning: bool
    is_new: bool  # never seen in the reference period
    is_vanished: bool  # common before, (nearly) gone after: a code path stopped running
    before_per_min: float
    expected: float  # lines expected after the onset at the reference share
    after_count: int
    after_per_min: float
    strength: float  # Poisson surprise, ≥ 0
    first_seen: float  # Unix seconds of its first occurrence after the onset
    trace_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class BrokenPair:
    """Two templates that used to be written in the same span, now often apart: a changed code path.

    A function that logs "start" and then "done" and now logs "start" alone returned early or
    threw: the fingerprint of a wrong-result or exception fault, even when nothing else moved.
    """

    service: ServiceId
    first: str
    missing: str
    spans_with_first: int
    spans_missing: int
    expected_missing: float
    strength: float  # Poisson surprise, ≥ 0
    first_seen: float
    trace_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class LogFindings:
    shifts: tuple[TemplateShift, ...]
    broken_pairs: tuple[BrokenPair, ...]
    templates_mined: int
    lines_after: int
    lines_reference: int


def _covered_minutes(records: Iterable[LogRecord]) -> int:
    # Logs may only exist for some minutes (exports, sampling): rates are per minute actually seen.
    return len({int(r.timestamp // 60) for r in records})


SPAN_MARK = "span "  # how an operation reads where a broken pair's first member is a span, not a line


def operation_marks(
    spans: Sequence[Span],
    *,
    log_minutes: frozenset[int],
    operations: frozenset[tuple[ServiceId, str]] | None = None,
) -> dict[tuple[ServiceId, str], str]:
    """Return, per (service, span id), the span's operation in its service's entry operation.

    A span's own operation name is often shared by several endpoints (one controller method behind
    two routes); the operation of the service's entry span above it (the local root, usually the
    HTTP route) tells them apart. Only spans that started in a minute for which logs exist are
    marked: a log export with gaps must not make every span look as if it stopped logging.
    `operations`, if given, limits the marks to spans of these (service, operation)s.
    """
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    marks: dict[tuple[ServiceId, str], str] = {}
    for s in spans:
        if operations is not None and (s.service, s.operation) not in operations:
            continue
        if int(s.start_ns // 60_000_000_000) not in log_minutes:
            continue
        entry = s
        hops = 0
        while entry.parent_span_id is not None and hops < 64:
            parent = by_id.get((entry.trace_id, entry.parent_span_id))
            if parent is None or parent.service != s.service:
                break
            entry, hops = parent, hops + 1
        marks[(s.service, s.span_id)] = s.operation if entry is s else f"{entry.operation} > {s.operation}"
    return marks


def find_template_shifts(
    after: Sequence[LogRecord],
    reference: Sequence[LogRecord],
    *,
    after_spans: Sequence[Span] = (),
    reference_spans: Sequence[Span] = (),
    min_count: int = 2,
    max_trace_ids: int = 200,
) -> LogFindings:
    """Mine templates over both periods and return the templates that appeared, surged or vanished.

    With spans, each span's operation joins the lines it wrote as a pseudo-template that may open a
    broken pair: "spans of this operation used to write this line, and now run without it". That
    tells a changed code path (the endpoint still runs, its line is gone: an exception or an early
    return) from a change of workload (the endpoint was not called, so neither appears).
    """
    config = TemplateMinerConfig()
    config.profiling_enabled = False
    # Tokens such as `Impl#34` name a log site, not a value: variable fields are masked already.
    config.parametrize_numeric_tokens = False
    config.drain_sim_th = 0.6
    config.drain_depth = 7  # the prefix tree then splits on service, time, level and logger
    miner = TemplateMiner(config=config)
    cluster_of: dict[tuple[ServiceId, str, str], int] = {}
    errorish: dict[int, bool] = {}
    warningish: dict[int, bool] = {}

    # Many lines repeat word for word (no id in them): their cluster is known without masking.
    cluster_of_line: dict[tuple[ServiceId, str, str], int] = {}

    def cluster(record: LogRecord) -> int:
        line_key = (record.service, record.message, record.level)
        known = cluster_of_line.get(line_key)
        if known is not None:
            return known
        found = _cluster_masked(record)
        if len(cluster_of_line) < 200_000:  # bounded: a line per request id would never repeat
            cluster_of_line[line_key] = found
        return found

    def _cluster_masked(record: LogRecord) -> int:
        masked = mask(record.message)
        key = (record.service, masked, record.level)
        found = cluster_of.get(key)
        if found is None:
            # Prefix the service so two services never share a template.
            found = int(miner.add_log_message(f"{record.service} {masked}")["cluster_id"])
            cluster_of[key] = found
            errorish[found] = errorish.get(found, False) or is_error_line(record)
            warningish[found] = warningish.get(found, False) or is_warning_line(record)
        return found

    ref_by_span: defaultdict[tuple[ServiceId, str], set[int]] = defaultdict(set)
    after_by_span: defaultdict[tuple[ServiceId, str], set[int]] = defaultdict(set)
    span_meta: dict[tuple[ServiceId, str], tuple[float, str]] = {}
    ref_counts: Counter[tuple[ServiceId, int]] = Counter()
    ref_lines: Counter[ServiceId] = Counter()
    for r in reference:
        c = cluster(r)
        ref_counts[(r.service, c)] += 1
        ref_lines[r.service] += 1
        if r.span_id:
            ref_by_span[(r.service, r.span_id)].add(c)
    after_counts: Counter[tuple[ServiceId, int]] = Counter()
    after_lines: Counter[ServiceId] = Counter()
    first_seen: dict[tuple[ServiceId, int], float] = {}
    traces: defaultdict[tuple[ServiceId, int], set[str]] = defaultdict(set)
    after_clusters: list[tuple[ServiceId, int, float]] = []
    for r in after:
        c = cluster(r)
        key = (r.service, c)
        after_counts[key] += 1
        after_lines[r.service] += 1
        after_clusters.append((r.service, c, r.timestamp))
        first_seen[key] = min(first_seen.get(key, r.timestamp), r.timestamp)
        if r.trace_id and len(traces[key]) < max_trace_ids:
            traces[key].add(r.trace_id)
        if r.span_id:
            span_key = (r.service, r.span_id)
            after_by_span[span_key].add(c)
            seen_at, _ = span_meta.get(span_key, (r.timestamp, r.trace_id))
            span_meta[span_key] = (min(seen_at, r.timestamp), r.trace_id)

    templates = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    # Operations get negative ids, so they never collide with drain's clusters.
    operation_ids: dict[str, int] = {}
    # Only operations whose spans wrote lines in the reference period can open a pair.
    logging = frozenset(
        (s.service, s.operation) for s in reference_spans if (s.service, s.span_id) in ref_by_span
    )
    for spans, records, by_span in (
        (reference_spans, reference, ref_by_span),
        (after_spans, after, after_by_span),
    ):
        minutes = frozenset(int(r.timestamp // 60) for r in records)
        for (service, span_id), operation in sorted(
            operation_marks(spans, log_minutes=minutes, operations=logging).items()
        ):
            op_id = operation_ids.setdefault(operation, -1 - len(operation_ids))
            by_span[(service, span_id)].add(op_id)
    after_starts = {(s.service, s.span_id): (s.start_ns / 1e9, s.trace_id) for s in after_spans}
    for span_key in after_by_span:
        if span_key not in span_meta and span_key in after_starts:
            span_meta[span_key] = after_starts[span_key]
    for operation, op_id in operation_ids.items():
        templates[op_id] = f"{SPAN_MARK}{operation}"
    ref_minutes = max(_covered_minutes(reference), 1)
    after_minutes = max(_covered_minutes(after), 1)
    # An error line that stopped is a recovery, not a fault: only a healthy line can go missing.
    together = pairs_together(ref_by_span, never_missing=frozenset(c for c, e in errorish.items() if e))
    mates = _span_mates(together)
    texts = {c: _text_of(templates, c) for c in templates}
    broken = find_broken_pairs(together, after_by_span, span_meta, texts, max_trace_ids=max_trace_ids)
    since_counts, since_lines = _counts_since_change(
        after_clusters, broken, first_seen, ref_counts, after_counts, min_count=min_count
    )

    def gone(service: ServiceId, c: int) -> bool:
        before = ref_counts.get((service, c), 0)
        expected = before / ref_lines[service] * since_lines[service] if ref_lines[service] else 0.0
        return since_counts.get((service, c), 0) <= 0.25 * expected

    shifts: list[TemplateShift] = []
    for key in sorted(set(ref_counts) | set(after_counts)):
        service, c = key
        before = ref_counts.get(key, 0)
        now = after_counts.get(key, 0)
        if ref_lines[service]:
            # Expect the template's old share of the service's lines: a service that simply got
            # busier writes more of everything, and that is not a fault.
            expected = before / ref_lines[service] * after_lines[service]
        else:
            expected = before / ref_minutes * after_minutes
        surprise = (now - expected) / math.sqrt(expected + 1.0)
        is_new = before == 0 and now >= min_count
        vanished = False
        # Judged from the service's first sign of change on (see _counts_since_change).
        now_since = since_counts.get(key, 0)
        expected_since = before / ref_lines[service] * since_lines[service] if ref_lines[service] else 0.0
        if ref_lines[service] and since_lines[service] and now_since < expected_since:
            # Compare shares, not rates: a service that merely got less traffic has not lost a
            # template. One that all but stopped writing a common line has changed its code path.
            deficit = (expected_since - now_since) / math.sqrt(expected_since + 1.0)
            share_before = before / ref_lines[service]
            vanished = (
                share_before >= 0.05
                and expected_since >= 3.0
                and now_since <= 0.25 * expected_since
                and deficit >= 3.0
            )
            if vanished:
                now, expected = now_since, expected_since
            # A line that went quiet together with every line it used to share a span with is an
            # endpoint nobody called this time (a change of workload), not a changed code path.
            span_mates = mates.get(key, ())
            if vanished and span_mates and all(gone(service, m) for m in span_mates):
                vanished = False
            surprise = deficit if vanished else 0.0
        if not (is_new or vanished or (now >= min_count and surprise >= 3.0)):
            continue
        template = _strip_service(templates.get(c, ""))
        shifts.append(
            TemplateShift(
                service=service,
                template=template,
                is_error=errorish.get(c, False),
                is_warning=warningish.get(c, False),
                is_new=is_new,
                is_vanished=vanished,
                before_per_min=before / ref_minutes,
                expected=expected,
                after_count=now,
                after_per_min=now / after_minutes,
                strength=max(surprise, 0.0),
                first_seen=first_seen.get(key, float("nan")),
                trace_ids=frozenset(traces.get(key, ())),
            )
        )
    return LogFindings(
        shifts=tuple(shifts),
        broken_pairs=broken,
        templates_mined=len(templates),
        lines_after=len(after),
        lines_reference=len(reference),
    )


def _strip_service(template: str) -> str:
    return template.split(" ", 1)[1] if " " in template else template


def _text_of(templates: Mapping[int, str], c: int) -> str:
    # Drain's templates start with the service's name; an operation's text (negative id) does not.
    text = templates.get(c, "")
    return _strip_service(text) if c >= 0 else text


def _counts_since_change(
    after_clusters: Sequence[tuple[ServiceId, int, float]],
    broken: Sequence[BrokenPair],
    first_seen: Mapping[tuple[ServiceId, int], float],
    ref_counts: Mapping[tuple[ServiceId, int], int],
    after_counts: Mapping[tuple[ServiceId, int], int],
    *,
    min_count: int,
) -> tuple[Counter[tuple[ServiceId, int]], Counter[ServiceId]]:
    """Count each service's lines from its first sign of change (a new template or a broken pair) on.

    The window may open before the fault; lines from before a service changed would make a line
    that has since stopped look as if it were still being written.
    """
    start: dict[ServiceId, float] = {}
    for pair in broken:
        start[pair.service] = min(start.get(pair.service, pair.first_seen), pair.first_seen)
    for key, at in first_seen.items():
        if ref_counts.get(key, 0) == 0 and after_counts.get(key, 0) >= min_count:
            start[key[0]] = min(start.get(key[0], at), at)
    counts: Counter[tuple[ServiceId, int]] = Counter()
    lines: Counter[ServiceId] = Counter()
    for service, c, at in after_clusters:
        if at >= start.get(service, -math.inf):
            counts[(service, c)] += 1
            lines[service] += 1
    return counts, lines


Together = dict[tuple[ServiceId, int, int], float]


def pairs_together(
    ref_spans: Mapping[tuple[ServiceId, str], set[int]],
    *,
    never_missing: frozenset[int] = frozenset(),
    min_support: int = 5,
    min_together: float = 0.9,
) -> Together:
    """Return P(B in span | A in span) per (service, A, B), for pairs that nearly always go together.

    A and B are ids of what a span holds: log lines, or (traces) its calls; a negative id (a span's
    own operation) may only be A.
    """
    with_a: Counter[tuple[ServiceId, int]] = Counter()
    with_ab: Counter[tuple[ServiceId, int, int]] = Counter()
    for (service, _), ids in ref_spans.items():
        for a in ids:
            with_a[(service, a)] += 1
            for b in ids:
                if b != a and b >= 0 and b not in never_missing:
                    with_ab[(service, a, b)] += 1
    return {
        key: n_ab / with_a[(key[0], key[1])]
        for key, n_ab in sorted(with_ab.items())
        if with_a[(key[0], key[1])] >= min_support and n_ab / with_a[(key[0], key[1])] >= min_together
    }


def _span_mates(pairs: Together) -> dict[tuple[ServiceId, int], tuple[int, ...]]:
    """Return, per (service, template), the templates that nearly always shared its spans."""
    mates: defaultdict[tuple[ServiceId, int], list[int]] = defaultdict(list)
    for service, a, b in pairs:
        mates[(service, a)].append(b)
    return {k: tuple(v) for k, v in mates.items()}


def find_broken_pairs(
    pairs: Together,
    after_spans: Mapping[tuple[ServiceId, str], set[int]],
    span_meta: Mapping[tuple[ServiceId, str], tuple[float, str]],
    texts: Mapping[int, str],
    *,
    max_trace_ids: int,
) -> tuple[BrokenPair, ...]:
    """Find pairs that shared a span in the reference period and are now often apart."""
    if not pairs:
        return ()
    needs: defaultdict[tuple[ServiceId, int], list[tuple[int, float]]] = defaultdict(list)
    for (service, a, b), p in pairs.items():
        needs[(service, a)].append((b, p))
    # Per pair, every span that reached its first line: (when, whether the second line was missing).
    reached: defaultdict[tuple[ServiceId, int, int], list[tuple[float, bool]]] = defaultdict(list)
    traces: defaultdict[tuple[ServiceId, int, int], set[str]] = defaultdict(set)
    for span_key, ids in after_spans.items():
        service = span_key[0]
        at, trace_id = span_meta[span_key]
        for a in ids:
            for b, _ in needs.get((service, a), ()):
                key = (service, a, b)
                missing = b not in ids
                reached[key].append((at, missing))
                if missing and trace_id and len(traces[key]) < max_trace_ids:
                    traces[key].add(trace_id)
    n_first: Counter[tuple[ServiceId, int, int]] = Counter()
    n_missing: Counter[tuple[ServiceId, int, int]] = Counter()
    first_seen: dict[tuple[ServiceId, int, int], float] = {}
    for key, visits in reached.items():
        breaks = [at for at, missing in visits if missing]
        if not breaks:
            continue
        # Count from the first break on: a window that opened a little before the fault must not
        # dilute how often the path now breaks with spans from before it broke.
        first_seen[key] = min(breaks)
        since = [missing for at, missing in visits if at >= first_seen[key]]
        n_first[key] = len(since)
        n_missing[key] = sum(since)
    out: list[BrokenPair] = []
    for key in sorted(n_missing):
        service, a, b = key
        expected = n_first[key] * (1.0 - pairs[key])
        surprise = (n_missing[key] - expected) / math.sqrt(expected + 1.0)
        if n_missing[key] < 2 or surprise < 3.0:
            continue
        out.append(
            BrokenPair(
                service=service,
                first=texts.get(a, ""),
                missing=texts.get(b, ""),
                spans_with_first=n_first[key],
                spans_missing=n_missing[key],
                expected_missing=expected,
                strength=surprise,
                first_seen=first_seen[key],
                trace_ids=frozenset(traces[key]),
            )
        )
    return tuple(out)
