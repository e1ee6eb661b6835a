"""Outbound HTTP: the allow-list, at-least-once delivery with bounded retries, and dry run.

Every request that leaves Mission Control (Slack, PagerDuty, generic webhooks, runbook HTTP actions)
goes through `HttpOutbound.send`:

- the URL must be http(s), its host on the allow-list (`hooks.slack.com`, `*.example.com`), and
  every address it resolves to must not be link-local (169.254/16, fe80::/10), a cloud metadata
  address or host, unspecified, or loopback (allowed only when configured, for tests and local dry-run
  receivers); redirects are never followed, so a 30x cannot lead elsewhere;
- 429 and 5xx (and connection errors) are retried up to `max_attempts`, waiting what `Retry-After`
  says (seconds or an HTTP date), capped at `max_retry_after_s`, else an exponential backoff; the whole
  delivery stops at `deadline_s`; other 4xx are final;
- in dry run nothing is sent: the request is kept in `dry_runs` (the last 100) and reported delivered
  as a dry run.
"""

import ipaddress
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

import httpx

from missioncontrol.domain.respond import DeliveryResult, OutboundRefused, OutboundRequest

METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "169.254.169.254",
        "169.254.170.2",  # ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "instance-data",
        "instance-data.ec2.internal",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "100.100.100.200", "fd00:ec2::254")
)
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})

Resolver = Callable[[str, int], Iterable[str]]


def resolve(host: str, port: int) -> list[str]:
    """Return every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host).compressed]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundRefused(f"cannot resolve {host!r}: {exc.strerror}") from None
    return sorted({str(info[4][0]) for info in infos})


def check_url(
    url: str,
    *,
    allow_hosts: Iterable[str],
    allow_loopback: bool = False,
    resolver: Resolver = resolve,
) -> None:
    """Raise `OutboundRefused` unless `url` may be called; the message says which rule refused it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused(f"refusing {url!r}: scheme {parts.scheme!r} is not http or https")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise OutboundRefused(f"refusing {url!r}: no host")
    if parts.username or parts.password:
        raise OutboundRefused(f"refusing {url!r}: credentials in the URL")
    if host in METADATA_HOSTS:
        raise OutboundRefused(f"refusing {url!r}: {host} is a cloud metadata host")
    allowed = [h.lower() for h in allow_hosts]
    if not any(fnmatchcase(host, pattern) for pattern in allowed):
        raise OutboundRefused(
            f"refusing {url!r}: host {host} is not on the outbound allow-list "
            f"({', '.join(allowed) or 'empty'}; set MISSIONCONTROL_OUTBOUND_ALLOW_HOSTS)"
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for text in resolver(host, port):
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if address in METADATA_ADDRESSES:
            raise OutboundRefused(f"refusing {url!r}: {host} resolves to the metadata address {address}")
        if address.is_link_local:
            raise OutboundRefused(f"refusing {url!r}: {host} resolves to the link-local address {address}")
        if address.is_unspecified or address.is_multicast:
            raise OutboundRefused(f"refusing {url!r}: {host} resolves to {address}")
        if address.is_loopback and not allow_loopback:
            raise OutboundRefused(
                f"refusing {url!r}: {host} resolves to the loopback address {address} "
                "(allowed only for test and dry-run receivers)"
            )


def retry_after_s(value: str | None, *, now: datetime | None = None) -> float | None:
    """Return the wait a `Retry-After` header asks for (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HttpOutbound:
    """`ports.OutboundHttp` over httpx: allow-listed, retried, bounded; or a dry run that sends nothing."""

    def __init__(
        self,
        *,
        allow_hosts: Iterable[str],
        allow_loopback: bool = False,
        dry_run: bool = False,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        max_retry_after_s: float = 30.0,
        deadline_s: float = 60.0,
        resolver: Resolver = resolve,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow_hosts = tuple(allow_hosts)
        self.allow_loopback = allow_loopback
        self.dry_run = dry_run
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.deadline_s = deadline_s
        self.resolver = resolver
        self.sleep = sleep
        self.clock = clock
        self.dry_runs: deque[OutboundRequest] = deque(maxlen=100)
        self._client = httpx.Client(follow_redirects=False, transport=transport, trust_env=False)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def send(self, request: OutboundRequest) -> DeliveryResult:
        """Deliver `request` at least once within its attempts and the deadline, or report why not."""
        check_url(
            request.url,
            allow_hosts=self.allow_hosts,
            allow_loopback=self.allow_loopback,
            resolver=self.resolver,
        )
        if self.dry_run:
            self.dry_runs.append(request)
            return DeliveryResult(is_delivered=True, url=request.url, attempts=0, is_dry_run=True)
        started = self.clock()
        attempts = 0
        last_error = ""
        last_status: int | None = None
        last_body = ""
        while attempts < max(1, request.max_attempts):
            attempts += 1
            wait: float | None = None
            try:
                response = self._client.request(
                    request.method,
                    request.url,
                    content=request.body or None,
                    headers=dict(request.headers),
                    timeout=request.timeout_s,
                )
            except httpx.HTTPError as exc:
                last_status, last_body = None, ""
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                last_status, last_body = response.status_code, response.text[:1024]
                if 200 <= response.status_code < 300:
                    return DeliveryResult(
                        is_delivered=True,
                        url=request.url,
                        status=response.status_code,
                        attempts=attempts,
                        body=last_body,
                    )
                last_error = f"HTTP {response.status_code}: {last_body[:200]!r}"
                if response.status_code not in RETRYABLE:
                    break
                asked = retry_after_s(response.headers.get("retry-after"))
                if asked is not None:
                    wait = min(asked, self.max_retry_after_s)
            if attempts >= request.max_attempts:
                break
            if wait is None:
                wait = min(self.max_backoff_s, self.backoff_s * 2 ** (attempts - 1))
            if self.clock() - started + wait > self.deadline_s:
                last_error += f"; gave up: the next attempt would pass the {self.deadline_s:g}s deadline"
                break
            self.sleep(wait)
        return DeliveryResult(
            is_delivered=False,
            url=request.url,
            status=last_status,
            attempts=attempts,
            body=last_body,
            error=f"{request.method} {request.url} failed after {attempts} attempt(s): {last_error}",
        )
