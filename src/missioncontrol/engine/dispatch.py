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

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from missioncontrol.domain import Brief, IncidentId, Severity
from missioncontrol.domain.respond import DeliveryResult, OutboundRefused, PageAction
from missioncontrol.ports import Notifier, Pager


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
    """Pages and notifies for briefs; remembers which team's pager holds each incident's alert."""

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
        notices = tuple((n.name, _safely(n.name, partial(n.notify, brief))) for n in self.notifiers)
        return DispatchReport(incident_id=brief.incident_id, team=team, page=page, notices=notices)

    def on_acknowledge(self, brief: Brief) -> DispatchReport:
        """Acknowledge the incident's page with every pager that paged it."""
        return self._follow_up(brief, PageAction.ACKNOWLEDGE)

    def on_resolve(self, brief: Brief) -> DispatchReport:
        """Resolve the incident's page with every pager that paged it."""
        report = self._follow_up(brief, PageAction.RESOLVE)
        if report.page is None or report.page.is_delivered:
            self._paged.pop(brief.incident_id, None)
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
