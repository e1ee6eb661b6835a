"""Tests for masking log lines and finding templates that appeared, vanished or stopped pairing."""

from collections.abc import Iterator
from dataclasses import replace
from itertools import count

import pytest

from missioncontrol.domain import LogRecord, ServiceId, Span
from missioncontrol.engine.logs import (
    SPAN_MARK,
    LogFindings,
    find_template_shifts,
    is_error_line,
    is_warning_line,
    mask,
    operation_marks,
)

START = 1_700_000_000.0
ONSET = START + 1800.0

_ids: Iterator[int] = count()


def lines(
    service: str,
    message: str,
    n: int,
    *,
    start: float,
    minutes: int = 10,
    level: str = "INFO",
) -> list[LogRecord]:
    """`n` records of one message spread evenly over `minutes` from `start`; `{i}` takes a running number."""
    return [
        LogRecord(
            timestamp=start + i * minutes * 60.0 / n,
            service=ServiceId(service),
            message=message.format(i=next(_ids)),
            level=level,
        )
        for i in range(n)
    ]


def spans_logging(service: str, messages: tuple[str, ...], n: int, *, start: float) -> list[LogRecord]:
    """`n` spans of `service`, each writing `messages` in order, one span per 20 seconds."""
    out: list[LogRecord] = []
    for i in range(n):
        k = next(_ids)
        out.extend(
            LogRecord(
                timestamp=start + i * 20.0 + j,
                service=ServiceId(service),
                message=m.format(i=k),
                level="INFO",
                trace_id=f"t{k}",
                span_id=f"s{k}",
            )
            for j, m in enumerate(messages)
        )
    return out


def shifted(findings: LogFindings, service: str) -> list[str]:
    return [s.template for s in findings.shifts if s.service == service]


# --- mask -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        ("order 3f2a1b4c-1d2e-4f5a-9b8c-0123456789ab accepted", "order <UUID> accepted"),
        ("span deadbeef00112233 closed", "span <HEX> closed"),
        ("connect to 10.0.3.17:8080 refused", "connect to <IP> refused"),
        ("connect to 192.168.1.1 refused", "connect to <IP> refused"),
        ("user 42 paid 12.50 in 3 tries", "user <NUM> paid <NUM> in <NUM> tries"),
        ("ERROR PaymentServiceImpl#34 charge failed", "ERROR PaymentServiceImpl#34 charge failed"),
        ("retry -1 of +3", "retry <NUM> of <NUM>"),
    ],
)
def test_mask_replaces_variable_fields(message: str, masked: str) -> None:
    assert mask(message) == masked


def test_mask_keeps_words_that_contain_digits() -> None:
    # Only standalone numbers are values; digits inside a word name something.
    assert mask("s3 bucket http2 stream Impl#34") == "s3 bucket http2 stream Impl#34"
    assert mask("short hex cafe1 kept") == "short hex cafe1 kept"


def test_mask_keeps_only_the_head_of_the_line() -> None:
    message = "a b c d e f g h i j and a long payload 1 2 3"

    assert mask(message) == "a b c d e f g h i j"
    assert mask(message, head_tokens=3) == "a b c"


def test_is_error_line_reads_the_level_or_else_the_words() -> None:
    def record(message: str, level: str = "") -> LogRecord:
        return LogRecord(timestamp=START, service=ServiceId("svc"), message=message, level=level)

    assert is_error_line(record("all fine", "error"))
    assert not is_error_line(record("all fine", "WARNING"))  # a warning is not an error
    assert is_warning_line(record("all fine", "WARNING"))
    assert not is_error_line(record("connection refused", "INFO"))  # a level, when present, decides
    assert is_error_line(record("connection refused"))
    assert is_error_line(record("upstream timed out"))
    assert not is_error_line(record("served 200 OK"))


# --- find_template_shifts -------------------------------------------------------------------------


def test_a_new_error_template_is_flagged() -> None:
    reference = lines("cart", "handled request {i} in cart", 200, start=ONSET - 1200.0)
    after = [
        *lines("cart", "handled request {i} in cart", 200, start=ONSET),
        *lines("cart", "db connection refused for order {i}", 12, start=ONSET + 60.0, level="ERROR"),
    ]

    findings = find_template_shifts(after, reference)

    (shift,) = findings.shifts
    assert shift.service == "cart"
    assert shift.is_new and shift.is_error and not shift.is_vanished
    assert shift.after_count == 12 and shift.before_per_min == 0.0
    assert "connection refused" in shift.template
    assert shift.first_seen == pytest.approx(ONSET + 60.0)
    assert shift.strength > 3.0
    assert findings.lines_after == 212 and findings.lines_reference == 200


def test_a_template_keeping_its_share_is_not_flagged_when_volume_doubles() -> None:
    def period(start: float, scale: int) -> list[LogRecord]:
        return [
            *lines("cart", "handled request {i} in cart", 100 * scale, start=start),
            *lines("cart", "cache miss for key {i}", 50 * scale, start=start),
        ]

    findings = find_template_shifts(period(ONSET, 2), period(ONSET - 1200.0, 1))

    assert findings.shifts == ()
    assert findings.broken_pairs == ()


def test_a_common_template_that_vanished_is_flagged() -> None:
    reference = [
        *lines("cart", "handled request {i} in cart", 100, start=ONSET - 1200.0),
        *lines("cart", "price check passed for item {i}", 80, start=ONSET - 1200.0),
    ]
    after = lines("cart", "handled request {i} in cart", 100, start=ONSET)

    findings = find_template_shifts(after, reference)

    (shift,) = (s for s in findings.shifts if s.is_vanished)
    assert not shift.is_new
    assert "price check passed" in shift.template
    assert shift.after_count == 0
    assert shift.expected == pytest.approx(80 / 180 * 100)
    assert shift.strength >= 3.0


def test_templates_never_cross_services() -> None:
    # The same words in another service are another log site.
    reference = lines("cart", "handled request {i}", 100, start=ONSET - 1200.0)
    after = [
        *lines("cart", "handled request {i}", 100, start=ONSET),
        *lines("search", "handled request {i}", 100, start=ONSET),
    ]

    findings = find_template_shifts(after, reference)

    assert shifted(findings, "cart") == []
    assert shifted(findings, "search") != []
    assert all(s.is_new for s in findings.shifts)


# --- broken pairs ---------------------------------------------------------------------------------

STEPS = ("charge started for order {i}", "charge done for order {i}")


def test_a_pair_that_stops_completing_is_a_broken_pair() -> None:
    reference = spans_logging("payment", STEPS, 30, start=ONSET - 1200.0)
    after = spans_logging("payment", STEPS[:1], 20, start=ONSET)

    findings = find_template_shifts(after, reference)

    (pair,) = findings.broken_pairs
    assert pair.service == "payment"
    assert "started" in pair.first and "done" in pair.missing
    assert (pair.spans_with_first, pair.spans_missing) == (20, 20)
    assert pair.expected_missing == pytest.approx(0.0)
    assert pair.strength >= 3.0
    assert pair.first_seen == pytest.approx(ONSET)
    assert len(pair.trace_ids) == 20


def test_a_pair_that_still_completes_is_not_broken() -> None:
    reference = spans_logging("payment", STEPS, 30, start=ONSET - 1200.0)
    after = spans_logging("payment", STEPS, 20, start=ONSET)

    assert find_template_shifts(after, reference).broken_pairs == ()


def test_a_pair_needs_support_in_the_reference_period() -> None:
    # Four spans are too few to say the two lines belong together.
    reference = spans_logging("payment", STEPS, 4, start=ONSET - 1200.0)
    after = spans_logging("payment", STEPS[:1], 20, start=ONSET)

    assert find_template_shifts(after, reference).broken_pairs == ()


def test_a_duration_with_a_unit_suffix_is_a_value_not_a_template() -> None:
    def period(start: float, seed: int) -> list[LogRecord]:
        values = [(seed * 7919 + i * 104729) % 900 + 5 for i in range(200)]
        return [
            LogRecord(start + 6.0 * i, ServiceId("cart"), f"request took {ms}ms status ok", "INFO")
            for i, ms in enumerate(values)
        ]

    findings = find_template_shifts(period(ONSET, 2), period(ONSET - 1200.0, 1))

    assert findings.shifts == ()
    assert findings.templates_mined == 1


# --- operation-conditioned pairs: spans of an operation that stopped writing their line ----------


def endpoint_spans(
    service: str, operation: str, n: int, *, start: float, message: str | None
) -> tuple[list[Span], list[LogRecord]]:
    """`n` entry spans of `operation`, one per 20 seconds, each writing `message` (or nothing)."""
    spans: list[Span] = []
    records: list[LogRecord] = []
    for i in range(n):
        k = next(_ids)
        at = start + i * 20.0
        spans.append(
            Span(
                trace_id=f"t{k}",
                span_id=f"s{k}",
                parent_span_id=None,
                service=ServiceId(service),
                operation=operation,
                start_ns=int(at * 1e9),
                end_ns=int((at + 0.01) * 1e9),
            )
        )
        if message is not None:
            records.append(
                LogRecord(
                    at, ServiceId(service), message.format(i=k), "INFO", trace_id=f"t{k}", span_id=f"s{k}"
                )
            )
    return spans, records


def test_an_operation_that_still_runs_but_no_longer_writes_its_line_is_a_broken_pair() -> None:
    ref_spans, ref_lines = endpoint_spans(
        "price", "GET /prices", 30, start=ONSET - 1200.0, message="query {i}"
    )
    after_spans, _ = endpoint_spans("price", "GET /prices", 20, start=ONSET, message=None)
    # Other lines keep the log export's minutes covered, as they would be on a live estate.
    _, other = endpoint_spans("price", "GET /other", 20, start=ONSET, message="other {i}")

    findings = find_template_shifts(other, ref_lines, after_spans=after_spans, reference_spans=ref_spans)

    (pair,) = findings.broken_pairs
    assert pair.first == f"{SPAN_MARK}GET /prices"
    assert "query" in pair.missing
    assert (pair.spans_with_first, pair.spans_missing) == (20, 20)
    assert pair.first_seen == pytest.approx(ONSET)


def test_an_endpoint_nobody_called_is_not_a_broken_pair() -> None:
    # A change of workload: the endpoint did not run, so its line is missing for a good reason.
    ref_spans, ref_lines = endpoint_spans(
        "price", "GET /prices", 30, start=ONSET - 1200.0, message="query {i}"
    )
    after_spans, other = endpoint_spans("price", "GET /other", 20, start=ONSET, message="other {i}")

    findings = find_template_shifts(other, ref_lines, after_spans=after_spans, reference_spans=ref_spans)

    assert findings.broken_pairs == ()


def test_spans_in_minutes_with_no_logs_are_not_taken_for_silent_spans() -> None:
    # The log export has a gap (a missing file): spans there say nothing about what was logged.
    ref_spans, ref_lines = endpoint_spans(
        "price", "GET /prices", 30, start=ONSET - 1200.0, message="query {i}"
    )
    after_spans, _ = endpoint_spans("price", "GET /prices", 20, start=ONSET + 600.0, message=None)
    _, other = endpoint_spans("price", "GET /other", 3, start=ONSET, message="other {i}")

    findings = find_template_shifts(other, ref_lines, after_spans=after_spans, reference_spans=ref_spans)

    assert findings.broken_pairs == ()


def test_operation_marks_name_the_entry_operation_of_the_service() -> None:
    def span(span_id: str, parent: str | None, service: str, operation: str) -> Span:
        return Span(
            "t", span_id, parent, ServiceId(service), operation, int(ONSET * 1e9), int(ONSET * 1e9) + 1
        )

    spans = [
        span("a", None, "gateway", "GET /"),
        span("b", "a", "price", "GET /prices/batch"),
        span("c", "b", "price", "PriceController.query"),
    ]

    marks = operation_marks(spans, log_minutes=frozenset({int(ONSET // 60)}))

    assert marks[(ServiceId("price"), "c")] == "GET /prices/batch > PriceController.query"
    assert marks[(ServiceId("price"), "b")] == "GET /prices/batch"
    assert marks[(ServiceId("gateway"), "a")] == "GET /"
    assert operation_marks(spans, log_minutes=frozenset()) == {}


def test_an_error_line_that_stopped_is_not_a_broken_pair() -> None:
    # The reference had a chronic error after every start line; its end is a recovery.
    steps = ("charge started for order {i}", "charge failed for order {i}")
    reference = [
        replace(r, level="ERROR") if "failed" in r.message else r
        for r in spans_logging("payment", steps, 30, start=ONSET - 1200.0)
    ]
    after = spans_logging("payment", steps[:1], 20, start=ONSET)

    assert find_template_shifts(after, reference).broken_pairs == ()
