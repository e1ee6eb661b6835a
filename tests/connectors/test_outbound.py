"""Outbound delivery: the allow-list refuses metadata, link-local and unlisted hosts; 429/5xx are retried."""

import time

import pytest

from missioncontrol.connectors.outbound import HttpOutbound, check_url, retry_after_s
from missioncontrol.domain.respond import OutboundRefused, OutboundRequest


def fixed(*addresses: str):  # a resolver answering as DNS would for a name pointing at `addresses`
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata host"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata host"),
        ("http://[fd00:ec2::254]/latest/", "metadata host"),
        ("http://evil.example.com/x", "not on the outbound allow-list"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("https://user:pw@hooks.slack.com/x", "credentials in the URL"),
    ],
)
def test_the_allow_list_refuses(url: str, reason: str) -> None:
    with pytest.raises(OutboundRefused, match=reason):
        check_url(url, allow_hosts=["hooks.slack.com", "events.pagerduty.com"], resolver=fixed("3.3.3.3"))


def test_an_allowed_name_that_resolves_to_link_local_is_refused() -> None:
    with pytest.raises(OutboundRefused, match=r"link-local address 169\.254\.10\.9"):
        check_url(
            "https://hooks.slack.com/x", allow_hosts=["hooks.slack.com"], resolver=fixed("169.254.10.9")
        )
    with pytest.raises(OutboundRefused, match="metadata address"):
        check_url("https://hooks.slack.com/x", allow_hosts=["*.slack.com"], resolver=fixed("169.254.169.254"))


def test_loopback_is_allowed_only_when_configured() -> None:
    with pytest.raises(OutboundRefused, match="loopback"):
        check_url("http://127.0.0.1:9/x", allow_hosts=["127.0.0.1"])
    check_url("http://127.0.0.1:9/x", allow_hosts=["127.0.0.1"], allow_loopback=True)
    check_url("https://a.hooks.example.com/x", allow_hosts=["*.example.com"], resolver=fixed("93.184.216.34"))


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_s("3") == 3.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: go now
    assert retry_after_s("soon") is None


def test_a_refused_url_never_reaches_the_network(loopback_receiver) -> None:
    outbound = HttpOutbound(allow_hosts=["127.0.0.1"], allow_loopback=False)
    with pytest.raises(OutboundRefused):
        outbound.send(OutboundRequest("POST", loopback_receiver.url + "/x", body=b"{}"))
    assert loopback_receiver.received == []


def test_429_is_retried_after_what_retry_after_says(loopback_receiver) -> None:
    loopback_receiver.fail_every = 1  # every request fails...
    loopback_receiver.fail_status = 429
    loopback_receiver.retry_after = "1"
    waits: list[float] = []
    outbound = HttpOutbound(allow_hosts=["127.0.0.1"], allow_loopback=True, sleep=waits.append)
    result = outbound.send(OutboundRequest("POST", loopback_receiver.url + "/x", body=b"{}", max_attempts=3))
    assert not result.is_delivered and result.attempts == 3 and result.status == 429
    assert waits == [1.0, 1.0]
    assert "failed after 3 attempt(s): HTTP 429" in result.error


def test_retry_after_is_capped_and_the_deadline_stops_delivery(loopback_receiver) -> None:
    loopback_receiver.fail_every = 1
    loopback_receiver.retry_after = "3600"
    waits: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    outbound = HttpOutbound(
        allow_hosts=["127.0.0.1"],
        allow_loopback=True,
        sleep=sleep,
        clock=lambda: now[0],
        max_retry_after_s=5,
        deadline_s=12,
    )
    result = outbound.send(OutboundRequest("POST", loopback_receiver.url + "/x", body=b"{}", max_attempts=10))
    assert waits == [5.0, 5.0]  # the third wait would pass the 12 s deadline
    assert "deadline" in result.error and result.attempts == 3


def test_a_client_error_is_final(loopback_receiver) -> None:
    loopback_receiver.fail_every = 1
    loopback_receiver.fail_status = 400
    outbound = HttpOutbound(allow_hosts=["127.0.0.1"], allow_loopback=True, backoff_s=0)
    result = outbound.send(OutboundRequest("POST", loopback_receiver.url + "/x", body=b"{}"))
    assert result.attempts == 1 and result.status == 400 and not result.is_delivered


def test_a_dead_receiver_is_retried_then_reported() -> None:
    outbound = HttpOutbound(allow_hosts=["127.0.0.1"], allow_loopback=True, backoff_s=0.001)
    request = OutboundRequest("POST", "http://127.0.0.1:9/x", body=b"{}", max_attempts=2, timeout_s=1)
    result = outbound.send(request)
    assert not result.is_delivered and result.attempts == 2 and "ConnectError" in result.error


def test_dry_run_sends_nothing_and_keeps_the_request(loopback_receiver) -> None:
    outbound = HttpOutbound(allow_hosts=["127.0.0.1"], allow_loopback=True, dry_run=True)
    result = outbound.send(OutboundRequest("POST", loopback_receiver.url + "/x", body=b'{"a": 1}'))
    time.sleep(0.05)
    assert result.is_dry_run and result.is_delivered and result.attempts == 0
    assert loopback_receiver.received == []
    assert outbound.dry_runs[-1].body == b'{"a": 1}'


def test_dry_run_still_checks_the_allow_list() -> None:
    outbound = HttpOutbound(allow_hosts=["hooks.slack.com"], dry_run=True)
    with pytest.raises(OutboundRefused):
        outbound.send(OutboundRequest("POST", "http://169.254.169.254/", body=b"{}"))
