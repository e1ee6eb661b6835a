"""Recall past incidents like this one: fingerprints as tokens, BM25 over them, optional embeddings.

A fingerprint is what an incident looked like, never what caused it: the alerts (name, signal,
service), the symptom, the services on the engine's paths, and for the leading suspects where the
evidence was and what it said (evidence kinds, metric names split into words, log template words).
Tokens carry their field as a prefix so a log word never matches a service name. Log words also carry
the service that logged them: services built from one codebase log the same templates, and an
"exception" in one says nothing about the same word in its sibling.

Similarity is BM25 (Robertson and Zaragoza's Okapi weighting, k1 = 1.2, b = 0.75) normalised by the
query's score against itself, so 1.0 means "everything this incident shows, the past one showed too";
with embeddings on both sides it is blended with their cosine. Pure: numpy and domain values only.
"""

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from missioncontrol.domain import Alert, Diagnosis, EvidenceKind
from missioncontrol.domain.knowledge import Fingerprint, PastIncident, SimilarIncident

_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])")
_STOP = frozenset(
    {"num", "hex", "ip", "the", "and", "for", "with", "from", "this", "that", "span", "info", "debug"}
)


@dataclass(frozen=True, slots=True)
class RecallConfig:
    """Tuning for similar-incident recall. Textbook BM25 defaults; nothing fitted on benchmark data."""

    k1: float = 1.2
    b: float = 0.75
    suspects: int = 3  # leading suspects whose evidence goes into the fingerprint
    dense_weight: float = 0.5  # share of the embedding cosine in the similarity, where both have one
    min_similarity: float = 0.05  # below this a past incident is not "similar" at all


@dataclass(frozen=True, slots=True)
class Match:
    """A past incident and how much it resembles the new one (0..1), with the tokens they share."""

    past: PastIncident
    similarity: float
    shared: tuple[str, ...]


def words_of(text: str) -> list[str]:
    """Return the lowercase words of `text`, camelCase and snake_case split, masks and noise dropped."""
    return [w.lower() for w in _WORD.findall(text) if len(w) >= 3 and w.lower() not in _STOP]


def _evidence_tokens(diagnosis: Diagnosis, suspects: int) -> list[str]:
    tokens: list[str] = []
    for rank, h in enumerate(diagnosis.hypotheses[:suspects]):
        weight = suspects - rank  # the leader's evidence counts more than the third suspect's
        tokens += [
            f"suspect:{h.service}",
            f"fault:{h.fault.value}",
            f"suspect:{h.service}:{h.fault.value}",
        ] * weight
        tokens += [f"path:{s}" for s in h.path]
        for e in h.evidence:
            if e.kind in (EvidenceKind.PRIOR, EvidenceKind.PROPAGATION):
                continue
            tokens += [f"evidence:{e.kind.value}", f"evidence:{e.kind.value}:{e.service}"]
            if e.kind is EvidenceKind.METRIC_ANOMALY:
                series = e.query.rsplit("/", 1)[-1]
                tokens.append(f"metric:{e.service}:{series}")
                tokens += [f"metric:{w}" for w in words_of(series)]
            elif e.kind is EvidenceKind.LOG_PATTERN:
                tokens += [f"log:{e.service}:{w}" for w in words_of(e.query.split(":", 1)[-1])]
            else:
                tokens += [f"trace:{w}" for w in words_of(e.summary)[:6]]
    return tokens


def tokens_of(diagnosis: Diagnosis, alerts: Sequence[Alert] = (), *, suspects: int = 3) -> tuple[str, ...]:
    """Return the fingerprint tokens of an incident: its alerts, symptom, paths and leading evidence."""
    tokens: list[str] = []
    for a in alerts:
        tokens += [f"alert:{a.name}", f"signal:{a.signal}"]
        if a.service:
            tokens.append(f"alertservice:{a.service}")
    if diagnosis.symptom:
        tokens.append(f"symptom:{diagnosis.symptom}")
    tokens += _evidence_tokens(diagnosis, suspects)
    return tuple(tokens)


def text_of(diagnosis: Diagnosis, alerts: Sequence[Alert] = (), *, suspects: int = 3) -> str:
    """Return the incident's symptoms and leading evidence as sentences, for a sentence embedding."""
    parts = [f"Alert {a.name} on {a.service or 'unknown service'} ({a.signal})." for a in alerts]
    if diagnosis.symptom:
        parts.append(f"Symptom at {diagnosis.symptom}.")
    for h in diagnosis.hypotheses[:suspects]:
        for e in h.evidence:
            if e.kind not in (EvidenceKind.PRIOR, EvidenceKind.PROPAGATION):
                parts.append(e.summary)
    return " ".join(parts)[:2000]


def fingerprint_of(
    diagnosis: Diagnosis,
    *,
    incident_id: str,
    seen_at: datetime,
    alerts: Sequence[Alert] = (),
    title: str = "",
    embedding: Sequence[float] | None = None,
    config: RecallConfig | None = None,
) -> Fingerprint:
    """Return the fingerprint of an incident from its diagnosis and alerts (never from its cause)."""
    cfg = config or RecallConfig()
    names = tuple(dict.fromkeys(a.name for a in alerts))
    return Fingerprint(
        incident_id=incident_id,
        title=title or (f"{names[0]} on {diagnosis.symptom}" if names else f"incident {incident_id}"),
        symptom=diagnosis.symptom,
        alerts=names,
        tokens=tokens_of(diagnosis, alerts, suspects=cfg.suspects),
        text=text_of(diagnosis, alerts, suspects=cfg.suspects),
        seen_at=seen_at,
        embedding=tuple(float(x) for x in embedding) if embedding is not None else None,
    )


class Bm25:
    """An Okapi BM25 index over token lists."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.counts = [Counter(d) for d in documents]
        self.lengths = np.array([len(d) for d in documents], dtype=float)
        self.mean_length = float(self.lengths.mean()) if len(documents) else 1.0
        df: Counter[str] = Counter()
        for c in self.counts:
            df.update(c.keys())
        n = len(documents)
        # The "plus one" form keeps every idf positive, so a token common to all documents still counts.
        self.idf = {t: math.log(1.0 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def _term(self, tf: float, length: float) -> float:
        norm = self.k1 * (1.0 - self.b + self.b * length / max(self.mean_length, 1e-9))
        return tf * (self.k1 + 1.0) / (tf + norm)

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """Return the BM25 score of every document for `query`."""
        q = Counter(query)
        out = np.zeros(len(self.counts))
        for i, doc in enumerate(self.counts):
            s = 0.0
            for t, qtf in q.items():
                tf = doc.get(t)
                if tf:
                    s += self.idf[t] * self._term(tf, self.lengths[i]) * min(qtf, tf)
            out[i] = s
        return out

    def self_score(self, query: Sequence[str]) -> float:
        """Return the score `query` would get against a document equal to itself (the ceiling)."""
        q = Counter(query)
        top = max(self.idf.values(), default=1.0)
        return sum(self.idf.get(t, top) * self._term(tf, len(query)) * tf for t, tf in q.items())


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    denom = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb) / denom if denom > 0 else 0.0


def recall(
    fingerprint: Fingerprint,
    past: Sequence[PastIncident],
    *,
    config: RecallConfig | None = None,
) -> list[Match]:
    """Return every past incident (other than this one) with its similarity, most similar first."""
    cfg = config or RecallConfig()
    others = [p for p in past if p.fingerprint.incident_id != fingerprint.incident_id]
    if not others or not fingerprint.tokens:
        return []
    index = Bm25([p.fingerprint.tokens for p in others], k1=cfg.k1, b=cfg.b)
    ceiling = index.self_score(fingerprint.tokens)
    lexical = np.clip(index.scores(fingerprint.tokens) / max(ceiling, 1e-9), 0.0, 1.0)
    query = set(fingerprint.tokens)
    matches: list[Match] = []
    for p, lex in zip(others, lexical, strict=True):
        sim = float(lex)
        if fingerprint.embedding is not None and p.fingerprint.embedding is not None:
            dense = max(0.0, _cosine(fingerprint.embedding, p.fingerprint.embedding))
            sim = (1.0 - cfg.dense_weight) * sim + cfg.dense_weight * dense
        if sim >= cfg.min_similarity:
            shared = tuple(sorted(query & set(p.fingerprint.tokens)))
            matches.append(Match(past=p, similarity=sim, shared=shared))
    matches.sort(key=lambda m: (-m.similarity, m.past.fingerprint.incident_id))
    return matches


def _why(shared: Sequence[str]) -> str:
    fields: dict[str, list[str]] = {}
    for t in shared:
        field, _, value = t.partition(":")
        fields.setdefault(field, []).append(value)
    order = ("alert", "signal", "symptom", "suspect", "evidence", "metric", "log", "trace", "path")
    parts = [f"{f}: {', '.join(fields[f][:4])}" for f in order if f in fields]
    return "; ".join(parts)


def to_similar_incidents(
    matches: Sequence[Match], *, limit: int = 3, distinct_causes: bool = True
) -> tuple[SimilarIncident, ...]:
    """Return the most similar past incidents that have an ending, as the brief shows them.

    With `distinct_causes`, each confirmed cause (service, fault kind) appears once, through its most
    similar incident: three precedents that all say "cart ran out of memory" tell the operator less
    than the three most likely different answers.
    """
    out: list[SimilarIncident] = []
    shown: set[tuple[str, str]] = set()
    for m in matches:
        r = m.past.resolution
        cause = m.past.cause
        if r is None and cause is None:
            continue
        if cause is not None and distinct_causes:
            if (cause[0], cause[1].value) in shown:
                continue
            shown.add((cause[0], cause[1].value))
        out.append(
            SimilarIncident(
                incident_id=m.past.fingerprint.incident_id,
                title=m.past.fingerprint.title,
                similarity=round(m.similarity, 4),
                cause_service=cause[0] if cause else None,
                cause_fault=cause[1] if cause else None,
                fix=r.fix if r is not None else "",
                resolved_at=r.resolved_at if r is not None else None,
                why_similar=_why(m.shared),
            )
        )
        if len(out) == limit:
            break
    return tuple(out)
