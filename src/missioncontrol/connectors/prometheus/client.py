"""Pull metric series from a Prometheus HTTP API (`/api/v1/query_range`) at investigation time."""

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from missioncontrol.connectors.prometheus.mapping import (
    PrometheusQueryError,
    QueryResult,
    QuerySet,
    choose_step,
    describe,
    render_query,
    to_query_result,
)
from missioncontrol.domain import MetricSeries, ServiceId, Telemetry


class PrometheusClient:
    """The few Prometheus HTTP API calls we make, with errors that say exactly what was asked."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        bearer_token: str | None = None,
        name: str = "prometheus",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {bearer_token}"} if bearer_token else {}
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout_s, headers=headers, transport=transport
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> "PrometheusClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def check(self, *, timeout_s: float | None = None) -> str:
        """Return the server's version if the HTTP API answers; raise PrometheusQueryError saying why not."""
        where = f"{self.name} {self.base_url}"
        try:
            response = self._http.get(
                "/api/v1/status/buildinfo",
                timeout=timeout_s if timeout_s is not None else self._http.timeout,
            )
            response.raise_for_status()
            return str(response.json()["data"]["version"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise PrometheusQueryError(
                f"Prometheus not reachable: {type(exc).__name__}: {exc}; source={where}"
            ) from exc

    def query_range_raw(self, query: str, *, start: datetime, end: datetime, step_s: float) -> Any:
        """Return the parsed JSON of `/api/v1/query_range`; raise PrometheusQueryError on any failure."""
        context = describe(query, start, end, step_s, f"{self.name} {self.base_url}")
        form = {"query": query, "start": _unix(start), "end": _unix(end), "step": f"{step_s:g}"}
        try:
            # POST with a form body: long PromQL never meets a URL length limit.
            response = self._http.post("/api/v1/query_range", data=form)
        except httpx.HTTPError as exc:
            raise PrometheusQueryError(
                f"PromQL query failed: {type(exc).__name__}: {exc}; {context}"
            ) from exc
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.is_success and payload is not None:
            return payload
        if isinstance(payload, dict) and payload.get("status") == "error":
            raise PrometheusQueryError(
                f"PromQL query failed: HTTP {response.status_code} {payload.get('errorType', '')}: "
                f"{payload.get('error', '')}; {context}"
            )
        raise PrometheusQueryError(
            f"PromQL query failed: HTTP {response.status_code} {response.text[:500]!r}; {context}"
        )

    def query_range(
        self, query: str, *, start: datetime, end: datetime, step_s: float, service: ServiceId, name: str
    ) -> QueryResult:
        """Run one range query and map it to series of `service` named `name`."""
        payload = self.query_range_raw(query, start=start, end=end, step_s=step_s)
        context = describe(query, start, end, step_s, f"{self.name} {self.base_url}")
        return to_query_result(payload, service=service, name=name, query=query, context=context)


class PrometheusTelemetrySource:
    """TelemetrySource: a set of PromQL queries per service, pulled over an investigation window."""

    def __init__(
        self, client: PrometheusClient, queries: QuerySet | None = None, *, workers: int = 4
    ) -> None:
        self.client = client
        self.queries = queries or QuerySet()
        self.workers = workers
        self.name = client.name

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    def check(self, *, timeout_s: float | None = None) -> str:
        """Return the server's version; raise PrometheusQueryError when its HTTP API does not answer."""
        return self.client.check(timeout_s=timeout_s)

    def fetch(
        self, *, start: datetime, end: datetime, services: Collection[ServiceId]
    ) -> tuple[Telemetry, tuple[str, ...]]:
        """Return every query's series for these services in [start, end], and one line per problem.

        A query that fails or has no data is reported (with its query, range, step and source) and
        the others still count: one bad query never empties the whole pull.
        """
        report = self.pull(start=start, end=end, services=services)
        return Telemetry(metrics=report.series), report.problems

    def pull(self, *, start: datetime, end: datetime, services: Collection[ServiceId]) -> "PullReport":
        """Return what `fetch` returns, with failed queries kept apart from "no data" and warnings."""
        step = choose_step(start, end, self.queries.step_s)
        jobs = [
            (service, name, render_query(template, service))
            for service in sorted(services)
            for name, template in self.queries.queries.items()
        ]

        def run(job: tuple[ServiceId, str, str]) -> QueryResult | str:
            service, name, query = job
            try:
                return self.client.query_range(
                    query, start=start, end=end, step_s=step, service=service, name=name
                )
            except PrometheusQueryError as exc:
                return str(exc)

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            outcomes = list(pool.map(run, jobs))
        series: list[MetricSeries] = []
        failed: list[str] = []
        notes: list[str] = []
        for (_, _, query), outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, str):
                failed.append(outcome)
                continue
            context = describe(query, start, end, step, f"{self.name} {self.client.base_url}")
            if not outcome.has_data:
                notes.append(f"no data: {context}")
            notes.extend(f"warning: {w}; {context}" for w in outcome.warnings)
            series.extend(outcome.series)
        return PullReport(series=tuple(series), queries=len(jobs), failed=tuple(failed), notes=tuple(notes))


@dataclass(frozen=True, slots=True)
class PullReport:
    """One pull: the series, how many queries ran, those that failed, and "no data" and warning lines."""

    series: tuple[MetricSeries, ...]
    queries: int
    failed: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def problems(self) -> tuple[str, ...]:
        """Return every problem line, failures first."""
        return self.failed + self.notes


def _unix(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: Prometheus ranges are tz-aware")
    return f"{at.timestamp():.3f}"
