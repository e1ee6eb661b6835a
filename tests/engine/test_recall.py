"""Recalling similar past incidents: fingerprint tokens, BM25, and the embedding blend."""

from datetime import UTC, datetime, timedelta

from missioncontrol.domain import Diagnosis, Evidence, EvidenceKind, FaultKind, Hypothesis, ServiceId, Stance
from missioncontrol.domain.knowledge import PastIncident, Resolution
from missioncontrol.engine.recall import (
    Bm25,
    RecallConfig,
    fingerprint_of,
    recall,
    to_similar_incidents,
    tokens_of,
    words_of,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WINDOW = (T0, T0 + timedelta(minutes=10))


def diagnosis(service: str, query: str, kind: EvidenceKind, fault: FaultKind) -> Diagnosis:
    e = Evidence(kind, ServiceId(service), "moved", "logs", query, WINDOW, Stance.SUPPORTS, weight=1.0)
    h = Hypothesis(ServiceId(service), fault, "c", 1.0, 0.8, (ServiceId("front"), ServiceId(service)), (e,))
    return Diagnosis("x", "m", ServiceId("front"), T0, WINDOW, (h,))


def test_words_split_camel_case_and_drop_masks() -> None:
    assert words_of("PodClientLatencyP95(s)") == ["pod", "client", "latency"]
    assert words_of("<NUM> ERROR f.m.s.BasicServiceImpl <HEX> timeout") == [
        "error",
        "basic",
        "service",
        "impl",
        "timeout",
    ]


def test_tokens_name_their_field_and_skip_propagation() -> None:
    d = diagnosis(
        "cart", "drain3 template: '<NUM> ERROR redis timeout'", EvidenceKind.LOG_PATTERN, FaultKind.ERRORS
    )
    tokens = tokens_of(d)
    assert "symptom:front" in tokens and "suspect:cart:errors" in tokens
    assert "log:cart:redis" in tokens and "log:cart:timeout" in tokens
    assert not any(t.startswith("evidence:propagation") for t in tokens)


def test_the_same_symptoms_rank_first_and_score_one() -> None:
    redis = diagnosis(
        "cart", "template: '<NUM> ERROR redis timeout'", EvidenceKind.LOG_PATTERN, FaultKind.ERRORS
    )
    cpu = diagnosis("cart", "cart/CpuUsageRate(%)", EvidenceKind.METRIC_ANOMALY, FaultKind.CPU)
    other = diagnosis("email", "email/MemoryUsage", EvidenceKind.METRIC_ANOMALY, FaultKind.MEMORY)
    past = [
        PastIncident(fingerprint_of(d, incident_id=i, seen_at=T0))
        for i, d in (("cpu", cpu), ("redis", redis), ("other", other))
    ]
    query = fingerprint_of(redis, incident_id="new", seen_at=T0)
    matches = recall(query, past)
    assert [m.past.fingerprint.incident_id for m in matches][:2] == ["redis", "cpu"]
    assert abs(matches[0].similarity - 1.0) < 1e-9
    assert all(0.0 <= m.similarity <= 1.0 for m in matches)
    assert "log:cart:redis" in matches[0].shared


def test_log_words_match_only_the_service_that_logged_them() -> None:
    template = "template: '<NUM> ERROR NullPointerException in TravelController'"
    sibling = diagnosis("travel2", template, EvidenceKind.LOG_PATTERN, FaultKind.ERRORS)
    same = diagnosis(
        "travel", "template: '<NUM> WARN slow query'", EvidenceKind.LOG_PATTERN, FaultKind.ERRORS
    )
    query = fingerprint_of(
        diagnosis("travel", template, EvidenceKind.LOG_PATTERN, FaultKind.ERRORS),
        incident_id="new",
        seen_at=T0,
    )
    past = [
        PastIncident(fingerprint_of(d, incident_id=i, seen_at=T0))
        for i, d in (("sib", sibling), ("same", same))
    ]
    matches = {m.past.fingerprint.incident_id: m for m in recall(query, past)}
    assert not any(t.startswith("log:") for t in matches["sib"].shared)
    assert matches["same"].similarity > matches["sib"].similarity


def test_an_incident_never_matches_itself() -> None:
    d = diagnosis("cart", "cart/CpuUsageRate", EvidenceKind.METRIC_ANOMALY, FaultKind.CPU)
    fp = fingerprint_of(d, incident_id="same", seen_at=T0)
    assert recall(fp, [PastIncident(fp)]) == []


def test_embeddings_blend_with_the_lexical_score() -> None:
    d = diagnosis("cart", "cart/CpuUsageRate", EvidenceKind.METRIC_ANOMALY, FaultKind.CPU)
    near = PastIncident(fingerprint_of(d, incident_id="near", seen_at=T0, embedding=(1.0, 0.0)))
    far = PastIncident(fingerprint_of(d, incident_id="far", seen_at=T0, embedding=(0.0, 1.0)))
    query = fingerprint_of(d, incident_id="q", seen_at=T0, embedding=(1.0, 0.0))
    by_id = {m.past.fingerprint.incident_id: m.similarity for m in recall(query, [near, far])}
    assert by_id["near"] > by_id["far"]
    assert abs(by_id["far"] - (1 - RecallConfig().dense_weight) * by_id["near"]) < 1e-9


def test_bm25_prefers_rare_shared_tokens() -> None:
    index = Bm25([["a", "common"], ["b", "common"], ["c", "common"]])
    scores = index.scores(["a", "common"])
    assert scores[0] > scores[1] == scores[2] > 0


def test_the_brief_shows_each_confirmed_cause_once() -> None:
    d = diagnosis("cart", "cart/CpuUsageRate", EvidenceKind.METRIC_ANOMALY, FaultKind.CPU)

    def past(incident_id: str, cause: str) -> PastIncident:
        fp = fingerprint_of(d, incident_id=incident_id, seen_at=T0)
        return PastIncident(fp, Resolution(incident_id, ServiceId(cause), FaultKind.CPU, "f", T0, "ops"))

    matches = recall(
        fingerprint_of(d, incident_id="new", seen_at=T0),
        [past("a", "cart"), past("b", "cart"), past("c", "db")],
    )
    assert [s.incident_id for s in to_similar_incidents(matches)] == ["a", "c"]
    assert [s.incident_id for s in to_similar_incidents(matches, distinct_causes=False)] == ["a", "b", "c"]
