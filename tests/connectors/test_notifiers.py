"""Slack, PagerDuty and generic-webhook deliveries to real HTTP receivers on loopback, checked against
the vendors' documented shapes; at-least-once delivery through a receiver failing half the requests."""

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from missioncontrol.connectors.outbound import HttpOutbound
from missioncontrol.connectors.pagerduty import PagerDutyPager, event_problems, to_event
from missioncontrol.connectors.policyfile import SAMPLE_POLICY, read_policy
from missioncontrol.connectors.slack import SlackNotifier, message_problems, to_message
from missioncontrol.connectors.webhook import SCHEMA, WebhookNotifier
from missioncontrol.domain import (
    Brief,
    Diagnosis,
    Evidence,
    EvidenceKind,
    FaultKind,
    Hypothesis,
    IncidentId,
    ServiceId,
    Severity,
    Stance,
)
from missioncontrol.domain.respond import PageAction
from missioncontrol.engine.dispatch import Dispatcher
from missioncontrol.engine.respond import DecisionEnricher

AT = datetime(2026, 12, 2, 9, 12, tzinfo=UTC)
ROUTING_KEY = "R0UT1NGKEY0000000000000000000001"  # 32 characters, as PagerDuty issues them


def brief(
    incident: str = "inc-42", *, evidence: int = 3, summary: str = "payments p90 latency 4.1× baseline"
) -> Brief:
    items = tuple(
        Evidence(
            kind=EvidenceKind.METRIC_ANOMALY,
            service=ServiceId("payments"),
            summary=summary if i == 0 else f"evidence {i} <@U123> & more",
            source="metrics",
            query='latency_p90{service="payments"}',
            window=(AT, AT),
            stance=Stance.SUPPORTS,
        )
        for i in range(evidence)
    )
    top = Hypothesis(
        service=ServiceId("payments"),
        fault=FaultKind.LATENCY,
        cause="payments is slow on its own",
        score=2.0,
        confidence=0.82,
        path=(ServiceId("frontend"), ServiceId("checkout"), ServiceId("payments")),
        evidence=items,
        onset_at=AT,
    )
    runner_up = Hypothesis(
        service=ServiceId("checkout"),
        fault=FaultKind.ERRORS,
        cause="checkout errors",
        score=0.5,
        confidence=0.1,
        path=(ServiceId("frontend"), ServiceId("checkout")),
        evidence=(),
    )
    diagnosis = Diagnosis(
        case_id=incident,
        method="engine",
        symptom=ServiceId("frontend"),
        onset_at=AT,
        window=(AT, AT),
        hypotheses=(top, runner_up),
        blast_radius=(ServiceId("frontend"), ServiceId("checkout")),
    )
    raw = Brief(incident_id=IncidentId(incident), generated_at=AT, diagnosis=diagnosis)
    return DecisionEnricher(read_policy(SAMPLE_POLICY), on_duty_tier="L1").enrich(raw)


def outbound(**kwargs) -> HttpOutbound:
    return HttpOutbound(allow_hosts=["127.0.0.1"], allow_loopback=True, backoff_s=0.001, **kwargs)


# --- Slack ----------------------------------------------------------------------------------------


def test_the_slack_message_follows_block_kit(loopback_receiver) -> None:
    result = SlackNotifier(
        loopback_receiver.url + "/services/T0/B0/x",
        outbound=outbound(),
        brief_url="https://mc.example.com/i/{incident_id}",
    ).notify(brief())
    assert result.is_delivered and result.status == 200
    (_, path, headers, body) = loopback_receiver.delivered[0]
    assert path == "/services/T0/B0/x" and headers["content-type"] == "application/json"
    message = json.loads(body)
    # Slack's documented shape, checked independently of our own validator:
    assert isinstance(message["text"], str) and message["text"]  # notification fallback
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= 50
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["type"] == "plain_text"
    assert len(blocks[0]["text"]["text"]) <= 150
    assert "payments" in blocks[0]["text"]["text"] and "82%" in blocks[0]["text"]["text"]
    by_id = {b.get("block_id"): b for b in blocks}
    assert set(by_id) >= {"header", "suspect", "path", "evidence", "decision", "meta", "links"}
    assert len(by_id["suspect"]["fields"]) <= 10
    assert "frontend → checkout → payments" in by_id["path"]["text"]["text"]
    assert by_id["evidence"]["text"]["text"].count("•") == 3
    assert (
        "&lt;@U123&gt; &amp; more" in by_id["evidence"]["text"]["text"]
    )  # telemetry text cannot mention anyone
    assert "Paging *payments*" in by_id["decision"]["text"]["text"]
    assert by_id["links"]["elements"][0]["url"] == "https://mc.example.com/i/inc-42"
    for b in blocks:
        if b["type"] == "section":
            assert all(len(t["text"]) <= 3000 for t in [b.get("text", {"text": ""}), *b.get("fields", [])])
    assert message_problems(message) == []


def test_a_huge_brief_is_clipped_to_slacks_limits() -> None:
    message = to_message(brief(evidence=6, summary="x" * 5000), link="https://mc.example.com/" + "y" * 4000)
    assert message_problems(message) == []
    evidence = next(b for b in message["blocks"] if b.get("block_id") == "evidence")
    assert len(evidence["text"]["text"]) == 3000 and evidence["text"]["text"].endswith("…")


def test_the_validator_catches_what_slack_would_reject() -> None:
    message = to_message(brief())
    message["blocks"] = message["blocks"] * 10
    message["blocks"][0] = {"type": "header", "text": {"type": "mrkdwn", "text": "h" * 200}}
    problems = message_problems(message)
    assert any(p.startswith("blocks: ") and "> 50" in p for p in problems)
    assert "blocks[0].text: a header's text must be plain_text" in problems
    assert any("is not unique" in p for p in problems)


# --- PagerDuty ------------------------------------------------------------------------------------


def test_the_trigger_event_follows_events_v2(loopback_receiver) -> None:
    loopback_receiver.ok_status = 202
    loopback_receiver.ok_body = b'{"status":"success","message":"Event processed","dedup_key":"inc-42"}'
    pager = PagerDutyPager(ROUTING_KEY, outbound=outbound(), events_url=loopback_receiver.url + "/v2/enqueue")
    result = pager.page(brief(), action=PageAction.TRIGGER, severity=Severity.WARNING)
    assert result.is_delivered and result.status == 202
    event = json.loads(loopback_receiver.delivered[0][3])
    # The documented required fields, checked independently of our own validator:
    assert event["routing_key"] == ROUTING_KEY and event["event_action"] == "trigger"
    assert event["dedup_key"] == "inc-42" and len(event["dedup_key"]) <= 255
    payload = event["payload"]
    assert 0 < len(payload["summary"]) <= 1024
    assert payload["source"] == "payments" and payload["severity"] == "warning"
    assert (
        payload["component"] == "payments"
        and payload["group"] == "payments"
        and payload["class"] == "latency"
    )
    datetime.fromisoformat(payload["timestamp"])
    details = payload["custom_details"]
    assert details["path"] == ["frontend", "checkout", "payments"]
    assert details["decision"]["verdict"] == "escalate" or details["decision"]["actions"]
    assert "Suspected cause: payments" in details["handoff"]
    assert event_problems(event) == []


@pytest.mark.parametrize("action", [PageAction.ACKNOWLEDGE, PageAction.RESOLVE])
def test_follow_ups_carry_only_the_key_and_action(action: PageAction) -> None:
    event = to_event(brief(), routing_key=ROUTING_KEY, action=action)
    assert event == {"routing_key": ROUTING_KEY, "event_action": str(action), "dedup_key": "inc-42"}
    assert event_problems(event) == []


def test_the_summary_is_cut_to_1024_characters() -> None:
    b = brief()
    long = replace(b, incident_id=IncidentId("i" * 2000))
    event = to_event(long, routing_key=ROUTING_KEY, action=PageAction.TRIGGER)
    assert len(event["payload"]["summary"]) == 1024
    assert len(event["dedup_key"]) == 255
    assert event_problems(event) == []
    assert "payload.severity" in " ".join(
        event_problems({**event, "payload": {**event["payload"], "severity": "high"}})
    )


# --- generic webhook ------------------------------------------------------------------------------


def test_the_generic_webhook_posts_the_brief_as_snake_case_json(loopback_receiver) -> None:
    result = WebhookNotifier(loopback_receiver.url + "/hook", outbound=outbound()).notify(brief())
    assert result.is_delivered
    _, _, headers, body = loopback_receiver.delivered[0]
    doc = json.loads(body)
    assert headers["x-missioncontrol-event"] == "brief"
    assert doc["schema"] == SCHEMA and doc["incident_id"] == "inc-42"
    assert doc["hypotheses"][0]["service"] == "payments"
    assert doc["decision"]["page_team"] == "payments"

    def keys(value: object) -> list[str]:
        if isinstance(value, dict):
            return [k for k, v in value.items() for k in [k, *keys(v)]]
        if isinstance(value, list):
            return [k for v in value for k in keys(v)]
        return []

    assert all(k == k.lower() for k in keys(doc)), "snake_case keys only"


# --- at-least-once through a flaky receiver --------------------------------------------------------


def test_a_receiver_failing_half_the_requests_still_gets_every_page_once_per_incident(
    loopback_receiver,
) -> None:
    loopback_receiver.fail_every = 2  # every second request answers 503
    loopback_receiver.retry_after = "0"
    loopback_receiver.ok_status = 202
    pager = PagerDutyPager(ROUTING_KEY, outbound=outbound(), events_url=loopback_receiver.url + "/v2/enqueue")
    dispatcher = Dispatcher(pagers={"payments": pager})
    incidents = [f"inc-{i}" for i in range(40)]
    reports = [dispatcher.on_brief(brief(i)) for i in incidents]
    assert all(r.page is not None and r.page.is_delivered for r in reports)
    assert (
        len(loopback_receiver.received) >= len(incidents) + len(incidents) // 2 - 1
    )  # the failures happened
    delivered = [json.loads(body) for _, _, _, body in loopback_receiver.delivered]
    keys = [e["dedup_key"] for e in delivered if e["event_action"] == "trigger"]
    assert set(keys) == set(incidents)  # every page arrived at least once...
    for e in delivered:
        assert (
            e["dedup_key"] == e["payload"]["custom_details"]["incident_id"]
        )  # ...under its incident's one key
    # a second brief for an incident already paged does not page again; resolve reaches the same key
    assert dispatcher.on_brief(brief("inc-0")).page is None
    resolved = dispatcher.on_resolve(brief("inc-0"))
    assert resolved.page is not None and resolved.page.is_delivered
    last = json.loads(loopback_receiver.delivered[-1][3])
    assert last == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "inc-0"}


def test_a_refused_notifier_does_not_stop_the_page(loopback_receiver) -> None:
    out = outbound()
    dispatcher = Dispatcher(
        default_pager=PagerDutyPager(
            ROUTING_KEY, outbound=out, events_url=loopback_receiver.url + "/v2/enqueue"
        ),
        notifiers=[SlackNotifier("http://169.254.169.254/hook", outbound=out)],
    )
    report = dispatcher.on_brief(brief())
    assert report.page is not None and report.page.is_delivered
    name, notice = report.notices[0]
    assert name == "slack" and not notice.is_delivered and "metadata host" in notice.error
    assert not report.is_complete


def test_a_refresh_that_changes_nothing_is_not_posted_again(loopback_receiver) -> None:
    dispatcher = Dispatcher(notifiers=[WebhookNotifier(loopback_receiver.url + "/hook", outbound=outbound())])
    first = dispatcher.on_brief(brief("inc-7"))
    again = dispatcher.on_brief(replace(brief("inc-7"), version=2))
    assert len(first.notices) == 1 and again.notices == ()
    changed = brief("inc-7")
    top = replace(changed.diagnosis.hypotheses[0], confidence=0.35)
    changed = replace(changed, version=3, diagnosis=replace(changed.diagnosis, hypotheses=(top,)))
    assert len(dispatcher.on_brief(changed).notices) == 1
    assert len(loopback_receiver.delivered) == 2


def test_each_team_is_paged_on_its_own_key(loopback_receiver) -> None:
    from pydantic import SecretStr

    from missioncontrol import bootstrap
    from missioncontrol.settings import Settings

    settings = Settings(
        pagerduty_routing_key=SecretStr("D" * 32),
        pagerduty_routing_keys={"PAGERDUTY_PAYMENTS": SecretStr("P" * 32)},
        pagerduty_events_url=loopback_receiver.url + "/v2/enqueue",
        outbound_allow_hosts=["127.0.0.1"],
        outbound_allow_loopback=True,
    )
    dispatcher = bootstrap.build_dispatcher(settings, read_policy(SAMPLE_POLICY))
    assert set(dispatcher.pagers) == {"payments"}  # the only team whose key ref is configured
    dispatcher.on_brief(brief("inc-pay"))  # suspect payments → team payments
    other = replace(brief("inc-sre"), decision=None, owner="storefront")
    dispatcher.on_brief(other)
    keys = {
        json.loads(b)["dedup_key"]: json.loads(b)["routing_key"] for _, _, _, b in loopback_receiver.delivered
    }
    assert keys == {"inc-pay": "P" * 32, "inc-sre": "D" * 32}
