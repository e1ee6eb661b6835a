"""Decide: act within authority or escalate naming the missing authority; page the suspect's owner."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from missioncontrol.connectors.policyfile import SAMPLE_POLICY, read_policy
from missioncontrol.domain import (
    Brief,
    CatalogEntry,
    Diagnosis,
    Evidence,
    EvidenceKind,
    FaultKind,
    Hypothesis,
    IncidentId,
    ServiceId,
    Stance,
)
from missioncontrol.domain.respond import Policy, Verdict
from missioncontrol.engine.respond import FAULT_ACTIONS, DecisionEnricher, decide

AT = datetime(2026, 12, 2, 9, 12, tzinfo=UTC)
CATALOG = {
    "frontend": CatalogEntry(service=ServiceId("frontend"), owner="storefront", tier="1"),
    "checkout": CatalogEntry(service=ServiceId("checkout"), owner="storefront", tier="2"),
    "payments": CatalogEntry(service=ServiceId("payments"), owner="payments", tier="1"),
    "catalogue": CatalogEntry(service=ServiceId("catalogue"), owner="sre", tier="2"),
}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return read_policy(SAMPLE_POLICY)


def lookup(service: ServiceId) -> CatalogEntry | None:
    return CATALOG.get(service)


def nothing(service: ServiceId) -> CatalogEntry | None:
    return None


def hypothesis(service: str, fault: FaultKind, confidence: float, *, changed: bool = False) -> Hypothesis:
    evidence = (
        Evidence(
            kind=EvidenceKind.METRIC_ANOMALY,
            service=ServiceId(service),
            summary=f"{service} latency 4× baseline",
            source="metrics",
            query=f'latency_p90{{service="{service}"}}',
            window=(AT, AT),
            stance=Stance.SUPPORTS,
        ),
    )
    if changed:
        evidence += (
            Evidence(
                kind=EvidenceKind.RECENT_CHANGE,
                service=ServiceId(service),
                summary=f"{service} deployed v2 3 min before onset",
                source="changes",
                query="deploy v2",
                window=(AT, AT),
                stance=Stance.SUPPORTS,
            ),
        )
    return Hypothesis(
        service=ServiceId(service),
        fault=fault,
        cause=f"{fault} in {service}",
        score=1.0,
        confidence=confidence,
        path=(ServiceId("frontend"), ServiceId(service)),
        evidence=evidence,
        onset_at=AT,
    )


def diagnosis(*hypotheses: Hypothesis) -> Diagnosis:
    return Diagnosis(
        case_id="inc-1",
        method="engine",
        symptom=ServiceId("frontend"),
        onset_at=AT,
        window=(AT, AT),
        hypotheses=hypotheses,
        blast_radius=(ServiceId("frontend"),),
    )


def test_a_bad_deploy_escalates_from_l1_naming_the_missing_authority(policy: Policy) -> None:
    d = decide(
        diagnosis(hypothesis("checkout", FaultKind.BAD_CHANGE, 0.8)),
        policy=policy,
        on_duty_tier="L1",
        catalog=lookup,
    )
    assert d.verdict is Verdict.ESCALATE
    assert d.escalate_to == "storefront/L2"
    assert d.missing_authority == "rollback on checkout needs L2"
    assert {o.action for o in d.actions} == {"page"}
    assert d.summary.startswith("Escalate to storefront/L2 because rollback on checkout needs L2")
    assert "Suspected cause: checkout" in d.handoff and "frontend → checkout" in d.handoff


def test_the_same_bad_deploy_is_l2s_to_roll_back(policy: Policy) -> None:
    d = decide(
        diagnosis(hypothesis("checkout", FaultKind.BAD_CHANGE, 0.8)),
        policy=policy,
        on_duty_tier="L2",
        catalog=lookup,
    )
    assert d.verdict is Verdict.ACT
    assert [o.action for o in d.actions][:2] == ["rollback", "flag_off"]
    assert d.actions[0].needs_approval_from == ()
    assert d.escalations == ()


def test_a_memory_leak_on_a_tier_two_service_is_l1s_to_restart(policy: Policy) -> None:
    d = decide(
        diagnosis(hypothesis("catalogue", FaultKind.MEMORY, 0.9)),
        policy=policy,
        on_duty_tier="L1",
        catalog=lookup,
    )
    assert d.verdict is Verdict.ACT
    assert d.actions[0].action == "restart" and d.actions[0].needs_approval_from == ()
    assert d.page_team == "sre"


def test_a_tier_one_service_needs_the_owners_approval_to_scale(policy: Policy) -> None:
    d = decide(
        diagnosis(hypothesis("payments", FaultKind.CPU, 0.9)),
        policy=policy,
        on_duty_tier="L1",
        catalog=lookup,
    )
    assert d.verdict is Verdict.ACT
    scale = d.actions[0]
    assert scale.action == "scale" and scale.needs_approval_from == ("service-owner", "tier L3+")
    assert "approval from service-owner or tier L3+" in d.summary


def test_the_page_goes_to_the_owner_of_the_cause_not_the_symptom(policy: Policy) -> None:
    d = decide(
        diagnosis(hypothesis("payments", FaultKind.LATENCY, 0.9)),
        policy=policy,
        on_duty_tier="L1",
        catalog=lookup,
    )
    assert d.page_team == "payments"  # the symptom, frontend, belongs to storefront
    assert "payments-oncall@example.com" in d.page_contacts


def test_an_unconfident_diagnosis_suggests_nothing_destructive(policy: Policy) -> None:
    d = decide(
        diagnosis(hypothesis("catalogue", FaultKind.MEMORY, 0.3)),
        policy=policy,
        on_duty_tier="L3",
        catalog=lookup,
    )
    assert not d.is_confident
    assert d.verdict is Verdict.ESCALATE
    assert [o.action for o in d.actions] == ["page"]
    assert d.summary.startswith("No confident cause")
    assert "NOT confident" in d.handoff


def test_a_change_in_the_evidence_adds_a_rollback(policy: Policy) -> None:
    d = decide(
        diagnosis(hypothesis("catalogue", FaultKind.MEMORY, 0.9, changed=True)),
        policy=policy,
        on_duty_tier="L2",
        catalog=lookup,
    )
    assert [o.action for o in d.actions if o.service == "catalogue"] == [
        "restart",
        "scale",
        "rollback",
        "page",
    ]


def test_runner_up_hypotheses_get_their_own_options(policy: Policy) -> None:
    d = decide(
        diagnosis(
            hypothesis("catalogue", FaultKind.MEMORY, 0.6), hypothesis("checkout", FaultKind.BAD_CHANGE, 0.3)
        ),
        policy=policy,
        on_duty_tier="L1",
        catalog=lookup,
    )
    assert d.verdict is Verdict.ACT
    assert any(
        e.service == "checkout" and e.action == "rollback" and e.needs_tier == "L2" for e in d.escalations
    )
    assert d.missing_authority == ""  # what L1 lacks concerns a runner-up, not the prime suspect


def test_without_a_catalog_the_policy_names_owner_and_tier(policy: Policy) -> None:
    d = decide(
        diagnosis(hypothesis("payments-db", FaultKind.CPU, 0.9)),
        policy=policy,
        on_duty_tier="L1",
        catalog=nothing,
    )
    assert d.page_team == "payments"
    assert d.actions[0].needs_approval_from  # policy says payment* is tier 1
    d = decide(
        diagnosis(hypothesis("mystery", FaultKind.CPU, 0.9)),
        policy=policy,
        on_duty_tier="L1",
        catalog=nothing,
    )
    assert d.page_team == "sre" and d.actions[0].needs_approval_from == ()


def test_a_dependency_fault_escalates_to_its_owner(policy: Policy) -> None:
    d = decide(
        diagnosis(hypothesis("payments", FaultKind.DEPENDENCY, 0.9)),
        policy=policy,
        on_duty_tier="L1",
        catalog=lookup,
    )
    assert d.verdict is Verdict.ESCALATE
    assert d.escalate_to == "payments/L2"


def test_no_hypothesis_escalates_to_the_default_team(policy: Policy) -> None:
    d = decide(diagnosis(), policy=policy, on_duty_tier="L1", catalog=lookup)
    assert d.verdict is Verdict.ESCALATE and d.page_team == "sre" and d.escalate_to == "sre/L3"


def test_every_fault_kind_has_a_row() -> None:
    assert set(FAULT_ACTIONS) == set(FaultKind)


def test_the_enricher_fills_decision_and_owner(policy: Policy) -> None:
    brief = Brief(
        incident_id=IncidentId("inc-1"),
        generated_at=AT,
        diagnosis=diagnosis(hypothesis("payments-api", FaultKind.ERRORS, 0.9)),
        owner="storefront",
    )
    enriched = DecisionEnricher(policy, on_duty_tier="L1").enrich(brief)
    assert enriched.decision is not None and enriched.decision.verdict is Verdict.ACT
    assert enriched.owner == "payments"
    assert replace(enriched, decision=None, owner="storefront") == brief
