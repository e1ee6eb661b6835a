"""End to end in a real headless Chromium (Debian's), driven by Playwright: what the operator sees.

The demo incident is the built-in simulated one, diagnosed by the real engine, its telemetry in the
real embedded chDB store and its decision from the sample policy. Screenshots land in out/screenshots/.
"""

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from missioncontrol.domain import (
    AlertStatus,
    Brief,
    GroupingReason,
    Impact,
    Incident,
    IncidentId,
    IncidentStatus,
)

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
SRC = Path(__file__).resolve().parents[2] / "src" / "missioncontrol"

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium (scripts/system-deps.sh)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)  # test artifacts (out/ is git-ignored)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def demo(estate: Any, tmp_path: Path) -> Iterator[tuple[Any, Incident, Brief]]:
    """The demo incident, diagnosed by the engine, with its telemetry in chDB and a policy decision."""
    from missioncontrol.bootstrap import build_action_desk, build_engine, the_demo_case
    from missioncontrol.connectors.policyfile import read_policy
    from missioncontrol.engine.respond import DecisionEnricher
    from missioncontrol.settings import Settings
    from missioncontrol.storage.telemetry import ChdbTelemetryStore

    # The sample policy, with the demo's database declared a tier-1 service: restarting it then needs a
    # service owner's approval, which is the path this test walks.
    sample = (SRC / "connectors/policyfile/samples/policy.yaml").read_text()
    assert 'services:\n  - service: "payment*"' in sample
    tiered = sample.replace(
        "services:\n", 'services:\n  - service: "quotes-db"\n    owner: sre\n    tier: "1"\n', 1
    )
    (tmp_path / "policy.yaml").write_text(tiered)
    estate.runtime.policy = read_policy(tmp_path / "policy.yaml")
    estate.runtime.actions = build_action_desk(
        estate.runtime.settings, estate.runtime.policy, db=estate.engine
    )
    labeled = the_demo_case()
    case = labeled.case
    alert = case.alert
    assert alert is not None
    now = datetime.now(UTC)
    shift = now - timedelta(minutes=3) - alert.started_at  # as if it fired three minutes ago
    diagnosis = build_engine(Settings()).diagnose(case)
    with ChdbTelemetryStore(tmp_path / "chdb") as telemetry:
        telemetry.append(case.telemetry)
        estate.runtime.telemetry = telemetry
        incident = Incident(
            id=IncidentId("inc-demo"),
            title=f"{alert.service}: {alert.name}",
            status=IncidentStatus.OPEN,
            severity=alert.severity,
            symptom=alert.service,
            opened_at=alert.started_at + shift,
            updated_at=alert.started_at + shift,
            alerts=(
                alert.__class__(
                    **{
                        **{f: getattr(alert, f) for f in alert.__slots__},
                        "status": AlertStatus.FIRING,
                        "started_at": alert.started_at + shift,
                        "received_at": alert.started_at + shift,
                    }
                ),
            ),
            grouping=(
                GroupingReason(
                    alert.fingerprint, "new", "first alert on this service: opened a new incident", now
                ),
            ),
        )
        brief = Brief(
            incident_id=incident.id,
            generated_at=now,
            diagnosis=diagnosis,
            impact=Impact(
                signals=(f"{alert.service} {alert.signal}",), since=incident.opened_at, summary=alert.summary
            ),
        )
        brief = DecisionEnricher(estate.runtime.policy, on_duty_tier="L1").enrich(brief)
        yield estate, incident, brief


def sign_in(page: Any, url: str, user: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", f"{user}-pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def test_demo_incident_appears_on_the_board_live(demo: Any, browser: Any, loopback: Any) -> None:
    estate, incident, brief = demo
    with loopback(estate.app) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        sign_in(page, url, "alice")
        page.wait_for_function("document.querySelector('#live').classList.contains('on')")
        page.evaluate("window.__no_reload = 'still here'")
        assert page.locator("tr[data-incident='inc-demo']").count() == 0
        estate.add(incident, brief)  # what the worker does when the alert's incident is investigated
        page.wait_for_selector("tr[data-incident='inc-demo']", timeout=10_000)
        assert page.evaluate("window.__no_reload") == "still here"  # live, not reloaded
        row = page.locator("tr[data-incident='inc-demo']").inner_text()
        assert brief.diagnosis.hypotheses[0].service in row
        page.screenshot(path=str(SHOTS / "board.png"), full_page=True)
        wall = browser.new_page(viewport={"width": 1920, "height": 1080})
        sign_in(wall, url, "alice")
        wall.goto(f"{url}/?wall=1")
        assert wall.evaluate("getComputedStyle(document.body).fontSize") == "22px"
        wall.screenshot(path=str(SHOTS / "board-wall.png"))


def test_incident_page_shows_the_path_and_evidence_charts(demo: Any, browser: Any, loopback: Any) -> None:
    estate, incident, brief = demo
    estate.add(incident, brief)
    with loopback(estate.app) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        sign_in(page, url, "alice")
        page.goto(f"{url}/incident/inc-demo")
        graph = page.locator("#path-graph svg.graph")
        assert graph.is_visible() and graph.bounding_box()["height"] > 60
        top = brief.diagnosis.hypotheses[0]
        assert page.locator(f"svg.graph g.cause[data-service='{top.service}']").count() == 1
        assert page.locator("svg.graph line.edge.on-path").count() == len(top.path) - 1
        assert page.locator("svg.graph g.anomalous").count() >= 1
        series = page.locator("ol.evidence svg.spark.series")
        assert series.count() >= 1  # drawn from the stored series over the window
        assert series.first.bounding_box()["width"] > 50
        page.screenshot(path=str(SHOTS / "incident.png"), full_page=True)


def test_action_requested_and_approved_with_the_role_refused_without(
    demo: Any, browser: Any, loopback: Any
) -> None:
    estate, incident, brief = demo
    estate.add(incident, brief)
    assert brief.decision is not None
    option = next(a for a in brief.decision.actions if a.needs_approval_from)
    with loopback(estate.app) as url:
        alice = browser.new_page(viewport={"width": 1440, "height": 900})
        sign_in(alice, url, "alice")
        alice.goto(f"{url}/incident/inc-demo")
        form = alice.locator(f"form.act-form:has(button[data-action='{option.action}'])").first
        for field in form.locator("input[name^='param_']").all():
            field.fill("shop" if "namespace" in field.get_attribute("name") else "2")
        form.locator("button").click()
        alice.wait_for_selector("#flash")
        assert "pending" in alice.locator("#flash").inner_text()
        alice.locator("div.request[data-status='pending'] button.approve").click()  # her own: refused
        alice.wait_for_selector("#flash.error")
        assert "Refused" in alice.locator("#flash").inner_text()
        alice.screenshot(path=str(SHOTS / "action-refused.png"), full_page=True)
        bob = browser.new_page(viewport={"width": 1440, "height": 900})
        sign_in(bob, url, "bob")  # service-owner
        bob.goto(f"{url}/incident/inc-demo")
        bob.locator("div.request[data-status='pending'] button.approve").click()
        bob.wait_for_selector("div.request[data-status='approved']")
        assert "Approved" in bob.locator("#flash").inner_text()
        bob.screenshot(path=str(SHOTS / "action-approved.png"), full_page=True)
    assert estate.runtime.actions.ledger.verify().is_intact


def test_analytics_render(demo: Any, browser: Any, loopback: Any) -> None:
    estate, incident, brief = demo
    estate.add(incident, brief)
    with loopback(estate.app) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        sign_in(page, url, "carol")
        page.goto(f"{url}/analytics")
        assert page.locator("svg.chart").count() >= 8
        assert page.locator("h1").inner_text() == "Investigation quality"
        page.screenshot(path=str(SHOTS / "analytics.png"), full_page=True)
