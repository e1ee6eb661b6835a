"""Write the evidence chain of a hypothesis: every item names its source, query, window and weight."""

from datetime import datetime

from missioncontrol.domain import Evidence, EvidenceKind, FaultKind, ServiceId, Stance
from missioncontrol.engine.findings import ServiceFindings
from missioncontrol.engine.logs import LogFindings
from missioncontrol.engine.rank import Contribution, Scored, pair_weight, ranked_shifts


def evidence_for(
    scored: Scored, f: ServiceFindings, window: tuple[datetime, datetime], log_findings: LogFindings
) -> list[Evidence]:
    """Return the evidence chain of one service: each contribution with its query and window."""
    out: list[Evidence] = []
    for c in sorted(scored.contributions, key=lambda c: (-c.weight, c.label)):
        out.append(evidence_of_contribution(c, f, window, log_findings))
    for change in f.changes:
        has_own = any(c.weight >= 1.0 and c.inherited_from is None for c in scored.contributions)
        out.append(
            Evidence(
                kind=EvidenceKind.RECENT_CHANGE,
                service=f.service,
                summary=(
                    f"{change.kind.value} at {change.at:%H:%M:%S}: {change.description or 'no description'}"
                    + ("" if has_own else " — but the service's own signals show no fault")
                ),
                source="changes",
                query=f"changes where service={f.service!r} and at >= onset - window",
                window=window,
                stance=Stance.SUPPORTS if has_own else Stance.WEAKENS,
                weight=0.3 if has_own else 0.0,
            )
        )
    return out


def evidence_of_contribution(
    c: Contribution, f: ServiceFindings, window: tuple[datetime, datetime], log_findings: LogFindings
) -> Evidence:
    kind_, _, detail = c.label.partition(":")
    inherited = f" (discounted {c.discount:.0%}: {c.reason})" if c.inherited_from and c.discount > 0.0 else ""
    if kind_ == "metric":
        best = next(s for scores in f.metrics.values() for s in scores if s.metric == detail)
        moved_on = best.latest is not None and abs(best.latest - best.observed) > 0.25 * max(
            abs(best.observed), abs(best.baseline)
        )
        now = f" (now {best.latest:.4g})" if moved_on else ""
        return Evidence(
            kind=EvidenceKind.METRIC_ANOMALY,
            service=f.service,
            summary=f"{detail} at {best.observed:.4g}{now} against a baseline of {best.baseline:.4g} "
            f"(held robust z {best.strength:.1f}){inherited}",
            source="metrics",
            query=f"{f.service}/{detail}",
            window=window,
            stance=Stance.SUPPORTS,
            value=best.observed,
            baseline=best.baseline,
            weight=c.weight,
        )
    if kind_ == "log":
        lead = ranked_shifts(f)[0]
        what = "new" if lead.is_new else "vanished" if lead.is_vanished else "surging"
        return Evidence(
            kind=EvidenceKind.LOG_PATTERN,
            service=f.service,
            summary=f"{what} {'error ' if lead.is_error else ''}log template, {lead.after_count} lines "
            f"({lead.before_per_min:.2f}/min before): {lead.template[:160]}"
            f"; {f.log_origin_votes} traces start it here, {f.log_inherited_votes} show it echoed{inherited}",
            source="logs",
            query=f"drain3 template in service={f.service!r}: {lead.template[:200]!r} "
            f"({log_findings.templates_mined} templates over {log_findings.lines_after} lines)",
            window=window,
            stance=Stance.SUPPORTS,
            value=float(lead.after_count),
            baseline=lead.before_per_min,
            weight=c.weight,
        )
    if kind_ == "named":
        writer, _, template = detail.partition(": ")
        return Evidence(
            kind=EvidenceKind.LOG_PATTERN,
            service=f.service,
            summary=f"{writer}, which calls {f.service}, logs trouble naming it: {template[:160]}",
            source="logs",
            query=f"drain3 template in service={writer!r} naming {f.service!r}: {template[:200]!r}",
            window=window,
            stance=Stance.SUPPORTS,
            weight=c.weight,
        )
    if kind_ == "silenced":
        # The caller's own evidence, read off its callees' metrics: each stopped series as
        # `service/series`, as a metric's own evidence names its query.
        callees = ", ".join(series.partition("/")[0] for series in detail.split(", "))
        return Evidence(
            kind=EvidenceKind.METRIC_ANOMALY,
            service=f.service,
            summary=f"{callees}, which only {f.service} calls, stopped working at once: "
            f"{f.service} no longer calls them",
            source="metrics",
            query=detail,
            window=window,
            stance=Stance.SUPPORTS,
            weight=c.weight,
        )
    if kind_ == "logpair":
        pair = max(f.broken_pairs, key=lambda p: (pair_weight(p), p.first, p.missing))
        return Evidence(
            kind=EvidenceKind.LOG_PATTERN,
            service=f.service,
            summary=f"code path changed: in {pair.spans_missing} of {pair.spans_with_first} spans "
            f"{pair.first[:80]!r} is no longer followed by {pair.missing[:80]!r} "
            f"(about {pair.expected_missing:.1f} expected){inherited}",
            source="logs",
            query=f"spans of service={f.service!r} with template {pair.first[:120]!r} "
            f"and without {pair.missing[:120]!r}",
            window=window,
            stance=Stance.SUPPORTS,
            value=float(pair.spans_missing),
            baseline=pair.expected_missing,
            weight=c.weight,
        )
    if detail.startswith("handlers:"):
        caller = detail.removeprefix("handlers:")
        e = next(e for e in f.handler_endings if e.caller == caller)
        how = "call no other service" if e.is_own else f"stop right after calling {f.service}"
        return Evidence(
            kind=EvidenceKind.TRACE_ERROR,
            service=f.service,
            summary=f"{e.after:.0%} of {caller}'s requests now {how}, against {e.before:.0%} before "
            f"({e.n_after} requests after the onset, {e.n_before} before; z {e.z:.1f}){inherited}",
            source="traces",
            query=f"entry spans of service={caller!r}: "
            + ("share with no call to another service" if e.is_own else "share whose last call goes to ")
            + ("" if e.is_own else repr(f.service)),
            window=window,
            stance=Stance.SUPPORTS,
            value=e.after,
            baseline=e.before,
            weight=c.weight,
        )
    if detail == "network" and f.network is not None:
        (a, b), worst = f.network.edges[0]
        return Evidence(
            kind=EvidenceKind.TRACE_LATENCY,
            service=f.service,
            summary=f"calls {'into' if f.network.inbound else 'out of'} {f.service} got slower on the "
            f"wire: at least half of them ×{f.network.ratio:.1f}, "
            f"over {len(f.network.edges)} edge(s); worst {a} → {b} {worst.after_p90_ms:.1f} ms "
            f"against {worst.before_p90_ms:.1f} ms",
            source="traces",
            query=f"client spans of calls {'into' if f.network.inbound else 'out of'} service={f.service!r}: "
            "time outside the callee, median per edge",
            window=window,
            stance=Stance.SUPPORTS,
            value=worst.after_p90_ms,
            baseline=worst.before_p90_ms,
            weight=c.weight,
        )
    if detail == "self_time" and f.self_time is not None:
        st = f.self_time
        return Evidence(
            kind=EvidenceKind.TRACE_LATENCY,
            service=f.service,
            summary=f"own time per span p90 {st.after_p90_ms:.1f} ms against {st.before_p90_ms:.1f} ms "
            f"(children excluded; {st.n_after} spans)",
            source="traces",
            query=f"spans where service={f.service!r}: duration minus children, p90",
            window=window,
            stance=Stance.SUPPORTS,
            value=st.after_p90_ms,
            baseline=st.before_p90_ms,
            weight=c.weight,
        )
    return Evidence(
        kind=EvidenceKind.TRACE_ERROR,
        service=f.service,
        summary=f"{f.errors_originated} failing spans start here (no failing child), "
        f"{f.errors_originated_before} before the onset",
        source="traces",
        query=f"spans where service={f.service!r} and status=error and no child in error",
        window=window,
        stance=Stance.SUPPORTS,
        value=float(f.errors_originated),
        baseline=float(f.errors_originated_before),
        weight=c.weight,
    )


def hop_evidence(
    path: tuple[ServiceId, ...],
    scored_by: dict[ServiceId, Scored],
    window: tuple[datetime, datetime],
) -> list[Evidence]:
    """Return one evidence item per hop between symptom and suspect: is the failure seen passing through?"""
    out: list[Evidence] = []
    for hop in path[:-1]:
        s = scored_by.get(hop)
        strongest = max(s.contributions, key=lambda c: c.weight, default=None) if s else None
        if strongest is not None and strongest.weight > 0.5:
            out.append(
                Evidence(
                    kind=EvidenceKind.PROPAGATION,
                    service=hop,
                    summary=f"{hop} is anomalous too ({strongest.label}), as a caller on the path would be",
                    source="topology",
                    query=f"{hop} → {path[-1]} along the call graph",
                    window=window,
                    stance=Stance.SUPPORTS,
                    weight=0.0,
                )
            )
        else:
            out.append(
                Evidence(
                    kind=EvidenceKind.PROPAGATION,
                    service=hop,
                    summary=f"{hop} shows no clear anomaly: the failure may pass it unseen, or not at all",
                    source="topology",
                    query=f"{hop} → {path[-1]} along the call graph",
                    window=window,
                    stance=Stance.WEAKENS,
                    weight=0.0,
                )
            )
    return out


def cause_text(service: ServiceId, fault: FaultKind, lead: Contribution | None) -> str:
    """Return one sentence naming the suspected cause and its strongest signal."""
    what = {
        FaultKind.CPU: "CPU saturation",
        FaultKind.MEMORY: "memory pressure",
        FaultKind.LATENCY: "slow responses of its own",
        FaultKind.ERRORS: "errors originating here",
        FaultKind.WRONG_OUTPUT: "wrong results (a changed code path, no errors or latency)",
        FaultKind.NETWORK: "network delay",
        FaultKind.DEPENDENCY: "a failing dependency",
        FaultKind.BAD_CHANGE: "a bad change",
        FaultKind.UNKNOWN: "an anomaly of unknown kind",
    }[fault]
    detail = f" — strongest signal {lead.label}" if lead else ""
    return f"{what} in {service}{detail}"
