"""Tests for weighing evidence and scoring services: own versus inherited, and how confident to be."""

from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from missioncontrol.domain import EvidenceKind, FaultKind, ServiceGraph, ServiceId, Stance
from missioncontrol.engine.diagnose import EngineConfig
from missioncontrol.engine.evidence import evidence_of_contribution
from missioncontrol.engine.findings import ServiceFindings
from missioncontrol.engine.logs import BrokenPair, LogFindings, TemplateShift
from missioncontrol.engine.metrics import SeriesScore
from missioncontrol.engine.rank import (
    Contribution,
    Scored,
    confidences,
    effect_size,
    leading_faults,
    metric_weight,
    named_peer,
    pair_weight,
    score_services,
    template_weight,
)
from missioncontrol.engine.signals import Family

T0 = 1_700_000_000.0
STEP = 60.0
MAX_HOPS = 6


def ids(*names: str) -> frozenset[ServiceId]:
    return frozenset(ServiceId(n) for n in names)


def shift(
    template: str,
    *,
    is_error: bool = False,
    is_warning: bool = False,
    is_new: bool = True,
    is_vanished: bool = False,
    strength: float = 20.0,
    expected: float = 0.0,
    after_count: int = 20,
    first_seen: float = T0,
    service: str = "svc",
) -> TemplateShift:
    return TemplateShift(
        service=ServiceId(service),
        template=template,
        is_error=is_error,
        is_warning=is_warning,
        is_new=is_new,
        is_vanished=is_vanished,
        before_per_min=0.0 if is_new else expected / 10.0,
        expected=expected,
        after_count=after_count,
        after_per_min=after_count / 10.0,
        strength=strength,
        first_seen=first_seen,
        trace_ids=frozenset(),
    )


def pair(*, spans_with_first: int, spans_missing: int, strength: float = 10.0) -> BrokenPair:
    return BrokenPair(
        service=ServiceId("svc"),
        first="start <NUM>",
        missing="done <NUM>",
        spans_with_first=spans_with_first,
        spans_missing=spans_missing,
        expected_missing=0.5,
        strength=strength,
        first_seen=T0,
        trace_ids=frozenset(),
    )


def metric(
    service: str,
    family: Family,
    *,
    strength: float,
    onset: float | None,
    observed: float = 20.0,
    baseline: float = 10.0,
) -> SeriesScore:
    """A series of `family` in `service` that doubled (by default) with held z `strength`."""
    return SeriesScore(
        service=ServiceId(service),
        metric=f"{family.value}_metric",
        family=family,
        strength=strength,
        onset=onset,
        observed=observed,
        baseline=baseline,
    )


def findings(service: str, *scores: SeriesScore, shifts: tuple[TemplateShift, ...] = ()) -> ServiceFindings:
    f = ServiceFindings(service=ServiceId(service), log_shifts=list(shifts))
    for s in scores:
        f.metrics.setdefault(s.family, []).append(s)
    return f


def score(graph: ServiceGraph, *many: ServiceFindings) -> dict[str, Scored]:
    scored = score_services({f.service: f for f in many}, graph, max_hops=MAX_HOPS, step_s=STEP)
    return {str(s.service): s for s in scored}


def ranked(graph: ServiceGraph, *many: ServiceFindings) -> list[str]:
    return [
        str(s.service)
        for s in score_services({f.service: f for f in many}, graph, max_hops=MAX_HOPS, step_s=STEP)
    ]


def only(s: Scored, prefix: str) -> Contribution:
    found = [c for c in s.contributions if c.label.startswith(prefix)]
    assert len(found) == 1, s.contributions
    return found[0]


# --- metric_weight and effect_size ----------------------------------------------------------------


@pytest.mark.parametrize("z", [0.0, 1.0, 2.0, 2.5])
def test_metric_weight_is_zero_up_to_the_noise_floor(z: float) -> None:
    assert metric_weight(z) == 0.0


def test_metric_weight_grows_monotonically_past_the_noise_floor() -> None:
    weights = [metric_weight(z) for z in (2.6, 3.0, 4.0, 6.0, 10.0, 50.0)]

    assert weights[0] > 0.0
    assert all(a < b for a, b in pairwise(weights))


def test_effect_size_is_zero_for_no_change() -> None:
    assert effect_size(10.0, 10.0) == 0.0
    assert effect_size(0.0, 0.0) == 0.0


@pytest.mark.parametrize(("observed", "baseline"), [(20.0, 10.0), (5.0, 10.0), (40.0, 10.0), (0.1, 10.0)])
def test_effect_size_counts_a_doubling_or_halving_fully(observed: float, baseline: float) -> None:
    assert effect_size(observed, baseline) == 1.0


def test_effect_size_is_partial_for_a_smaller_move() -> None:
    assert 0.0 < effect_size(11.0, 10.0) < effect_size(15.0, 10.0) < 1.0


@pytest.mark.parametrize(("a", "b"), [(12.0, 10.0), (15.0, 10.0), (0.3, 0.33), (-4.0, -5.0)])
def test_effect_size_is_symmetric(a: float, b: float) -> None:
    assert effect_size(a, b) == pytest.approx(effect_size(b, a))


@pytest.mark.parametrize(("observed", "baseline"), [(3.0, 0.0), (0.0, 3.0), (1e-3, 0.0)])
def test_effect_size_is_full_when_moving_off_zero(observed: float, baseline: float) -> None:
    assert effect_size(observed, baseline) == 1.0


def test_effect_size_of_a_non_finite_value_is_zero() -> None:
    assert effect_size(float("nan"), 10.0) == 0.0
    assert effect_size(float("inf"), 10.0) == 0.0


# --- pair_weight and template_weight ----------------------------------------------------------------


def test_pair_weight_grows_with_the_fraction_of_spans_missing() -> None:
    weights = [pair_weight(pair(spans_with_first=20, spans_missing=m)) for m in (0, 2, 10, 20)]

    assert weights[0] == 0.0
    assert all(a < b for a, b in pairwise(weights))


def test_a_new_error_template_outweighs_a_new_warning_which_outweighs_a_new_info_line() -> None:
    error = template_weight(shift("payment failed", is_error=True))
    warning = template_weight(shift("retrying payment", is_warning=True))
    info = template_weight(shift("payment accepted"))

    assert error > warning > info > 0.0


def test_a_new_template_outweighs_a_surge_of_an_old_one() -> None:
    new = template_weight(shift("payment failed", is_error=True))
    surged = template_weight(shift("payment failed", is_error=True, is_new=False, expected=5.0))

    assert new > surged > 0.0


def test_a_fully_vanished_template_outweighs_a_half_vanished_one() -> None:
    gone = template_weight(
        shift("order stored", is_new=False, is_vanished=True, expected=40.0, after_count=0)
    )
    half = template_weight(
        shift("order stored", is_new=False, is_vanished=True, expected=40.0, after_count=20)
    )

    assert gone > half > 0.0


# --- named_peer -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("upstream call to quotes-db failed", "quotes-db"),
        ("quotes-db: connection refused", "quotes-db"),
        ("call to quotes timed out", "quotes"),
        ("call to quotesdb failed", None),
        ("call to my-quotes-db2 failed", None),
        ("call to my-quotes-db failed", None),
        ("call to quotes_db failed", None),
        ("nothing named here", None),
    ],
)
def test_named_peer_finds_the_longest_whole_word_service_name(template: str, expected: str | None) -> None:
    assert named_peer(template, ids("quotes", "quotes-db", "orders")) == expected


def test_named_peer_prefers_the_longest_of_several_names_in_the_line() -> None:
    template = "checkout via cart, orders, users and auth: quotes-db failed"

    assert named_peer(template, ids("cart", "orders", "users", "auth", "quotes-db")) == "quotes-db"


def test_named_peer_ignores_names_too_short_to_be_telling() -> None:
    assert named_peer("db error in query", ids("db")) is None


# --- leading_faults -------------------------------------------------------------------------------


def scored_with(*lines: tuple[FaultKind, float]) -> Scored:
    contribs = tuple(
        Contribution(label=f"line{i}", fault=fault, weight=w, is_inheritable=False)
        for i, (fault, w) in enumerate(lines)
    )
    return Scored(service=ServiceId("svc"), total=0.0, onset=None, contributions=contribs)


def test_saturation_leads_a_somewhat_stronger_latency_line() -> None:
    leading = leading_faults(scored_with((FaultKind.LATENCY, 1.5), (FaultKind.CPU, 1.0)))

    assert list(leading) == [FaultKind.CPU, FaultKind.LATENCY]


def test_a_much_stronger_latency_line_still_leads_weak_saturation() -> None:
    leading = leading_faults(scored_with((FaultKind.LATENCY, 3.0), (FaultKind.CPU, 0.5)))

    assert next(iter(leading)) == FaultKind.LATENCY


def test_each_fault_kind_is_judged_by_its_strongest_line_not_the_sum() -> None:
    latency_views = [(FaultKind.LATENCY, 1.0)] * 4
    leading = leading_faults(scored_with(*latency_views, (FaultKind.ERRORS, 1.5)))

    assert list(leading) == [FaultKind.ERRORS, FaultKind.LATENCY]
    assert leading[FaultKind.LATENCY] == pytest.approx(1.0)


# --- score_services -------------------------------------------------------------------------------

CHAIN = ServiceGraph.from_edges([("frontend", "backend")])


def test_a_callers_latency_is_discounted_when_its_callee_is_as_anomalous_and_went_wrong_first() -> None:
    caller = findings("frontend", metric("frontend", Family.LATENCY, strength=10.0, onset=T0 + 2 * STEP))
    callee = findings("backend", metric("backend", Family.CPU, strength=10.0, onset=T0))

    scored = score(CHAIN, caller, callee)

    latency = only(scored["frontend"], "metric:")
    assert latency.inherited_from == "backend"
    assert latency.discount == pytest.approx(0.8)
    assert "backend" in latency.reason
    assert only(scored["backend"], "metric:").discount == 0.0
    assert ranked(CHAIN, caller, callee) == ["backend", "frontend"]


def test_a_weaker_callee_takes_a_smaller_share_of_the_callers_latency() -> None:
    caller = findings("frontend", metric("frontend", Family.LATENCY, strength=30.0, onset=T0))
    strong = findings("backend", metric("backend", Family.CPU, strength=30.0, onset=T0))
    weak = findings("backend", metric("backend", Family.CPU, strength=4.0, onset=T0))

    full = only(score(CHAIN, caller, strong)["frontend"], "metric:").discount
    partial = only(score(CHAIN, caller, weak)["frontend"], "metric:").discount

    assert 0.0 < partial < full


def test_a_callee_that_went_wrong_within_a_step_still_explains_its_caller() -> None:
    caller = findings("frontend", metric("frontend", Family.LATENCY, strength=10.0, onset=T0))
    callee = findings("backend", metric("backend", Family.CPU, strength=10.0, onset=T0 + STEP))

    assert only(score(CHAIN, caller, callee)["frontend"], "metric:").inherited_from == "backend"


def test_a_callee_that_went_wrong_later_does_not_explain_its_caller() -> None:
    caller = findings("frontend", metric("frontend", Family.LATENCY, strength=10.0, onset=T0))
    callee = findings("backend", metric("backend", Family.CPU, strength=12.0, onset=T0 + 5 * STEP))

    latency = only(score(CHAIN, caller, callee)["frontend"], "metric:")

    assert latency.discount == 0.0
    assert latency.inherited_from is None


def test_a_callers_own_cpu_is_never_discounted() -> None:
    caller = findings("frontend", metric("frontend", Family.CPU, strength=10.0, onset=T0 + 2 * STEP))
    callee = findings("backend", metric("backend", Family.CPU, strength=20.0, onset=T0))

    cpu = only(score(CHAIN, caller, callee)["frontend"], "metric:")

    assert cpu.discount == 0.0
    assert cpu.inherited_from is None


def test_a_service_that_is_not_a_callee_never_takes_the_blame() -> None:
    # Two services with no call between them: neither explains the other.
    graph = ServiceGraph.from_edges([("frontend", "backend")], services=["other"])
    caller = findings("frontend", metric("frontend", Family.LATENCY, strength=10.0, onset=T0 + 2 * STEP))
    stranger = findings("other", metric("other", Family.CPU, strength=20.0, onset=T0))

    assert only(score(graph, caller, stranger)["frontend"], "metric:").discount == 0.0


@pytest.mark.parametrize(
    ("template", "fault"),
    [
        ("upstream call to quotes-db failed", FaultKind.ERRORS),
        ("connection to quotes-db refused", FaultKind.NETWORK),
    ],
)
def test_a_callee_named_in_the_callers_lead_log_line_is_credited(template: str, fault: FaultKind) -> None:
    graph = ServiceGraph.from_edges([("frontend", "quotes"), ("frontend", "quotes-db")])
    caller = findings("frontend", shifts=(shift(template, is_error=True, service="frontend"),))

    scored = score(graph, caller)

    named = only(scored["quotes-db"], "named:")
    assert named.label == f"named:frontend: {template}"
    assert named.fault == fault
    log = only(scored["frontend"], "log:")
    assert log.inherited_from == "quotes-db"
    assert log.discount == pytest.approx(0.8)
    assert "quotes-db" in log.reason
    assert "quotes" not in scored
    assert ranked(graph, caller)[0] == "quotes-db"


def test_a_service_named_in_a_log_line_but_not_called_is_not_credited() -> None:
    graph = ServiceGraph.from_edges([("billing", "frontend"), ("frontend", "quotes-db")])
    caller = findings(
        "frontend", shifts=(shift("request from billing rejected", is_error=True, service="frontend"),)
    )

    scored = score(graph, caller)

    assert list(scored) == ["frontend"]
    assert only(scored["frontend"], "log:").discount == 0.0


# --- confidences ----------------------------------------------------------------------------------

CFG = EngineConfig()


def confidence(totals: list[float]) -> list[float]:
    return confidences(totals, temperature=CFG.temperature, midpoint=CFG.real_midpoint, width=CFG.real_width)


@pytest.mark.parametrize(
    "totals", [[8.0, 1.0, 0.5], [1.0, 0.8, 0.7], [3.0, 3.0, 3.0, 3.0], [0.0, 0.0], [5.0]]
)
def test_confidences_sum_to_at_most_one(totals: list[float]) -> None:
    probs = confidence(totals)

    assert len(probs) == len(totals)
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert sum(probs) <= 1.0 + 1e-9


def test_confidences_are_monotone_in_score() -> None:
    totals = [2.0, 6.0, 0.5, 4.0, 4.5, 0.0]

    probs = confidence(totals)

    by_score = [p for _, p in sorted(zip(totals, probs, strict=True), reverse=True)]
    assert all(a > b for a, b in pairwise(by_score))


@pytest.mark.parametrize("totals", [[1.0, 0.8, 0.7], [1.5, 0.3, 0.2], [1.0]])
def test_a_faint_leader_among_faint_rivals_is_not_confident(totals: list[float]) -> None:
    # [1.5, 0.3, 0.2] and [1.0] stand out clearly: only the leader's own faintness keeps them low.
    assert confidence(totals)[0] < 0.5


def test_a_strong_clear_leader_is_confident() -> None:
    assert confidence([8.0, 1.0, 0.5])[0] > 0.9


def test_a_strong_leader_with_an_equal_rival_is_not_confident() -> None:
    assert confidence([8.0, 8.0, 0.5])[0] < 0.6


def test_confidences_of_nothing_are_nothing() -> None:
    assert confidence([]) == []
    assert confidence([0.0, 0.0]) == [0.0, 0.0]


@pytest.mark.parametrize(("traces_seen", "discounted"), [(0, True), (10, False)])
def test_logs_read_in_traces_without_any_other_service_are_not_discounted_by_the_graph(
    traces_seen: int, discounted: bool
) -> None:
    # The caller's lines were found in ten traces, none holding another service's changed lines:
    # they echo nobody, so a callee that is anomalous too does not explain them away.
    caller = findings("frontend", shifts=(shift("ERROR checkout failed <NUM>", is_error=True),))
    caller.log_traces_seen = traces_seen
    callee = findings("backend", metric("backend", Family.CPU, strength=40.0, onset=T0 - STEP))

    log = only(score(CHAIN, caller, callee)["frontend"], "log:")

    assert (log.discount > 0.0) is discounted
    assert (log.inherited_from == "backend") is discounted


# --- callees a single caller stopped calling ------------------------------------------------------

# checkout alone calls payment and email; shipping is called by frontend and checkout.
SHOP = ServiceGraph.from_edges(
    [
        ("frontend", "checkout"),
        ("frontend", "shipping"),
        ("checkout", "payment"),
        ("checkout", "email"),
        ("checkout", "shipping"),
    ]
)


def stopped(service: str) -> ServiceFindings:
    """A service whose I/O fell from 40 to 0: it no longer works."""
    return findings(service, metric(service, Family.IO, strength=6.0, onset=T0, observed=0.0, baseline=40.0))


def test_two_callees_of_one_caller_that_stop_together_move_their_evidence_to_that_caller() -> None:
    scored = score(SHOP, stopped("payment"), stopped("email"))

    for callee in ("payment", "email"):
        quiet = only(scored[callee], "metric:")
        assert quiet.inherited_from == "checkout"
        assert quiet.discount == pytest.approx(0.8)
        assert "checkout" in quiet.reason
    silenced = only(scored["checkout"], "silenced:")
    assert silenced.label == "silenced:email/io_metric, payment/io_metric"
    assert silenced.fault is FaultKind.ERRORS
    assert silenced.onset == T0
    assert ranked(SHOP, stopped("payment"), stopped("email"))[0] == "checkout"


def test_one_stopped_callee_may_be_down_itself_and_moves_nothing() -> None:
    scored = score(SHOP, stopped("payment"))

    assert only(scored["payment"], "metric:").discount == 0.0
    assert "checkout" not in scored


def test_a_callee_with_other_callers_is_not_read_as_silenced_by_one_of_them() -> None:
    # shipping is called by frontend too: its stopping says nothing about checkout alone.
    scored = score(SHOP, stopped("payment"), stopped("shipping"))

    assert only(scored["payment"], "metric:").discount == 0.0
    assert only(scored["shipping"], "metric:").discount == 0.0
    assert "checkout" not in scored


def test_a_callee_is_judged_stopped_on_its_latest_level_not_the_whole_windows() -> None:
    # A found onset early by minutes: the window's median still holds healthy samples.
    early = metric("email", Family.IO, strength=6.0, onset=T0, observed=20.0, baseline=40.0)
    stopped_now = findings("email", replace(early, latest=0.0))
    halved_now = findings("email", replace(early, latest=20.0))

    assert "checkout" in score(SHOP, stopped("payment"), stopped_now)
    assert "checkout" not in score(SHOP, stopped("payment"), halved_now)


def test_a_callee_that_only_slowed_is_not_silenced() -> None:
    slowed = metric("email", Family.IO, strength=6.0, onset=T0, observed=20.0, baseline=40.0)
    halved = findings("email", slowed)

    scored = score(SHOP, stopped("payment"), halved)

    assert only(scored["email"], "metric:").discount == 0.0
    assert "checkout" not in scored


def test_the_silencing_callers_evidence_names_the_callees_it_stopped_calling() -> None:
    scored = score(SHOP, stopped("payment"), stopped("email"))
    window = (datetime.fromtimestamp(T0, UTC), datetime.fromtimestamp(T0 + 600, UTC))
    no_logs = LogFindings(shifts=(), broken_pairs=(), templates_mined=0, lines_after=0, lines_reference=0)

    evidence = evidence_of_contribution(
        only(scored["checkout"], "silenced:"), findings("checkout"), window, no_logs
    )

    assert evidence.service == "checkout"
    assert evidence.stance is Stance.SUPPORTS
    # The caller's own evidence (not a hop of a path), named by the series that stopped.
    assert evidence.kind is EvidenceKind.METRIC_ANOMALY
    assert evidence.query == "email/io_metric, payment/io_metric"
    assert evidence.summary.startswith("email, payment, which only checkout calls")
    assert "no longer calls them" in evidence.summary
    assert evidence.weight > 0.0


def test_a_metrics_evidence_says_where_it_is_now_when_that_differs_from_the_windows_median() -> None:
    window = (datetime.fromtimestamp(T0, UTC), datetime.fromtimestamp(T0 + 600, UTC))
    no_logs = LogFindings(shifts=(), broken_pairs=(), templates_mined=0, lines_after=0, lines_reference=0)
    early = metric("email", Family.IO, strength=6.0, onset=T0, observed=20.0, baseline=40.0)
    moved = findings("email", replace(early, latest=0.0))
    same = findings("email", replace(early, latest=21.0))

    def summary(f: ServiceFindings) -> str:
        return evidence_of_contribution(only(score(SHOP, f)["email"], "metric:"), f, window, no_logs).summary

    assert summary(moved).startswith("io_metric at 20 (now 0) against a baseline of 40")
    assert summary(same).startswith("io_metric at 20 against a baseline of 40")
