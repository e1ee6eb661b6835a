"""Dispatch: when a brief is ready, page the owner of the suspected cause and post the brief; resolve later.

    brief (with decision) ──► pager of decision.page_team (else brief.owner, else the default pager)
                               PagerDuty trigger, dedup_key = incident id
                          ──► every notifier (Slack Block Kit, generic webhook)
    incident acknowledged ──► the same pager: acknowledge
    incident resolved     ──► the same pager: resolve

The page goes to the team that was paged first for the incident, so a later acknowledge or resolve
reaches the same PagerDuty alert (Events v2 drops follow-ups sent with another routing key). A brief
refreshed with a different suspect pages the new owner too. Delivery failures are reported, never
raised: one unreachable receiver must not stop the others.
"""

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from missioncontrol.domain import Brief, IncidentId, IncidentStatus, Severity
from missioncontrol.domain.respond import DeliveryResult, OutboundRefused, PageAction
from missioncontrol.ports import BriefStore, IncidentStore, Notifier, Pager

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """What dispatching one brief (or one acknowledge/resolve) did."""

    incident_id: IncidentId
    team: str
    page: DeliveryResult | None  # None: no pager for the team, or nothing to page
    notices: tuple[tuple[str, DeliveryResult], ...] = ()

    @property
    def is_complete(self) -> bool:
        """True when the page and every notice were delivered (or dry-run)."""
        return (self.page is None or self.page.is_delivered) and all(r.is_delivered for _, r in self.notices)


class Dispatcher:
    """Pages and notifies for briefs; remembers which team's pager holds each incident's alert.

    A refreshed brief is posted to the notifiers again only when its gist changed (prime suspect, fault,
    confidence to one decimal, the decision), so a stream of refreshes does not flood the channel.
    """

    def __init__(
        self,
        *,
        pagers: Mapping[str, Pager] | None = None,
        default_pager: Pager | None = None,
        notifiers: Sequence[Notifier] = (),
    ) -> None:
        self.pagers = dict(pagers or {})
        self.default_pager = default_pager
        self.notifiers = tuple(notifiers)
        self._paged: dict[IncidentId, set[str]] = {}
        self._posted: dict[IncidentId, tuple[str, ...]] = {}  # what the channel last heard, per incident

    def team_of(self, brief: Brief) -> str:
        """Return the team to page for `brief`: the decision's page team, else the brief's owner."""
        if brief.decision is not None and brief.decision.page_team:
            return brief.decision.page_team
        return brief.owner

    def _pager(self, team: str) -> Pager | None:
        return self.pagers.get(team, self.default_pager)

    def on_brief(self, brief: Brief, *, severity: Severity = Severity.CRITICAL) -> DispatchReport:
        """Page the owner of the suspected cause (once per team and incident); post the brief everywhere."""
        team = self.team_of(brief)
        page: DeliveryResult | None = None
        paged = self._paged.setdefault(brief.incident_id, set())
        pager = self._pager(team)
        if pager is not None and team not in paged:
            page = _safely(
                pager.name, lambda: pager.page(brief, action=PageAction.TRIGGER, severity=severity)
            )
            if page.is_delivered:
                paged.add(team)
        notices: tuple[tuple[str, DeliveryResult], ...] = ()
        gist = _gist(brief)
        if self._posted.get(brief.incident_id) != gist:  # a refresh that changes nothing is not re-posted
            notices = tuple((n.name, _safely(n.name, partial(n.notify, brief))) for n in self.notifiers)
            if all(r.is_delivered for _, r in notices):
                self._posted[brief.incident_id] = gist
        return DispatchReport(incident_id=brief.incident_id, team=team, page=page, notices=notices)

    def on_acknowledge(self, brief: Brief) -> DispatchReport:
        """Acknowledge the incident's page with every pager that paged it."""
        return self._follow_up(brief, PageAction.ACKNOWLEDGE)

    def on_resolve(self, brief: Brief) -> DispatchReport:
        """Resolve the incident's page with every pager that paged it."""
        report = self._follow_up(brief, PageAction.RESOLVE)
        if report.page is None or report.page.is_delivered:
            self._paged.pop(brief.incident_id, None)
            self._posted.pop(brief.incident_id, None)
        return report

    def _follow_up(self, brief: Brief, action: PageAction) -> DispatchReport:
        teams = sorted(self._paged.get(brief.incident_id) or {self.team_of(brief)})
        last: DeliveryResult | None = None
        for team in teams:
            pager = self._pager(team)
            if pager is None:
                continue
            result = _safely(pager.name, partial(pager.page, brief, action=action))
            if last is None or last.is_delivered:
                last = result
        return DispatchReport(incident_id=brief.incident_id, team=",".join(teams), page=last)


def _gist(brief: Brief) -> tuple[str, ...]:
    """Return what makes a brief worth posting again: prime suspect, fault, confidence band, decision."""
    top = brief.diagnosis.hypotheses[0] if brief.diagnosis.hypotheses else None
    suspect = (str(top.service), str(top.fault), str(round(top.confidence, 1))) if top is not None else ("",)
    decision = brief.decision
    return (*suspect, str(decision.verdict) if decision else "", decision.summary if decision else "")


def _safely(name: str, send: Callable[[], DeliveryResult]) -> DeliveryResult:
    try:
        return send()
    except OutboundRefused as exc:
        return DeliveryResult(is_delivered=False, url="", error=f"{name}: {exc}")


def time_pages(dispatcher: Dispatcher, briefs: Iterable[Brief]) -> tuple[float, ...]:
    """Return, per brief, the seconds `on_brief` took to page and notify (for the alert → page benchmark)."""
    timings: list[float] = []
    for brief in briefs:
        started = time.perf_counter()
        dispatcher.on_brief(brief)
        timings.append(time.perf_counter() - started)
    return tuple(timings)


class BriefPublisher:
    """A `ports.BriefStore` that stores each brief, then dispatches it in the background.

    Wraps the real store (bootstrap puts it in front of the investigator): every new brief pages the
    owner of the suspected cause and is posted to the notifiers; a brief of an incident that has
    resolved resolves the page instead. Dispatch runs on its own threads, so a slow or failing
    receiver (retries honour Retry-After) never holds up an investigation.
    """

    def __init__(
        self,
        store: BriefStore,
        dispatcher: Dispatcher,
        *,
        incidents: IncidentStore | None = None,
        workers: int = 2,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.incidents = incidents
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="dispatch")
        self.reports: deque[DispatchReport] = deque(maxlen=1000)

    def save_brief(self, brief: Brief) -> None:
        """Store the brief, then page/notify (or resolve) in the background."""
        self.store.save_brief(brief)
        self._pool.submit(self._dispatch, brief)

    def latest_brief(self, incident_id: IncidentId) -> Brief | None:
        """Return the latest stored brief of the incident."""
        return self.store.latest_brief(incident_id)

    def incidents_without_brief(self) -> tuple[IncidentId, ...]:
        """Return incidents that have no brief yet."""
        return self.store.incidents_without_brief()

    def _dispatch(self, brief: Brief) -> None:
        try:
            incident = self.incidents.incident(brief.incident_id) if self.incidents is not None else None
            if incident is not None and incident.status is IncidentStatus.RESOLVED:
                report = self.dispatcher.on_resolve(brief)
            else:
                severity = incident.severity if incident is not None else Severity.CRITICAL
                report = self.dispatcher.on_brief(brief, severity=severity)
            self.reports.append(report)
            if not report.is_complete:
                log.warning("dispatch of %s incomplete: %s", brief.incident_id, _failures(report))
        except Exception:  # a dispatch bug must never take the worker thread down silently
            log.exception("dispatch of %s failed", brief.incident_id)

    def close(self) -> None:
        """Finish pending dispatches and stop the threads."""
        self._pool.shutdown(wait=True)


def _failures(report: DispatchReport) -> str:
    failed = [("pager", report.page)] if report.page is not None and not report.page.is_delivered else []
    failed += [(name, r) for name, r in report.notices if not r.is_delivered]
    return "; ".join(f"{name}: {r.error}" for name, r in failed if r is not None)
