"""The board's set queries on SQLite and PostgreSQL: grouping reasons, brief summaries within a budget."""

from dataclasses import replace
from typing import Any

from sqlalchemy import Engine

from missioncontrol.domain import Placement
from missioncontrol.storage.board import SqlBoardReader
from missioncontrol.storage.incidents import SqlIncidentStore, write_alerts


def add(store: SqlIncidentStore, incident: Any, brief: Any = None) -> None:
    with store.engine.begin() as conn:
        write_alerts(conn, incident.alerts)
    reason = incident.grouping[0]
    store.record_placements(
        [Placement(incident.alerts[0], incident.id, reason, opens_incident=True, title="t")]
    )
    if brief is not None:
        store.save_brief(brief)


def test_summaries_follow_the_latest_version_and_grouping_comes_in_one_read(
    db_engine: Engine, incident_factory: Any, brief_factory: Any
) -> None:
    store = SqlIncidentStore(db_engine)
    add(store, incident_factory(1), brief_factory("inc-00001"))
    add(store, incident_factory(2))
    reader = SqlBoardReader(db_engine)
    first = reader.brief_summaries(["inc-00001", "inc-00002"])
    assert set(first) == {"inc-00001"}
    s = first["inc-00001"]
    assert (s.version, s.suspect, s.fault, s.owner, s.verdict) == (
        1,
        "payments",
        "cpu",
        "team-payments",
        "act",
    )
    store.save_brief(replace(brief_factory("inc-00001"), version=2, owner="team-new"))
    assert reader.brief_summaries(["inc-00001"])["inc-00001"].owner == "team-new"
    grouping = reader.grouping(["inc-00001", "inc-00002", "inc-nope"])
    assert [g.rule for g in grouping["inc-00001"]] == ["new"] and "inc-nope" not in grouping
    shown = reader.grouping(["inc-00001"], fingerprints=[grouping["inc-00001"][0].fingerprint])
    assert shown == {"inc-00001": grouping["inc-00001"]}
    assert reader.grouping(["inc-00001"], fingerprints=["not-shown"]) == {}


def test_a_spent_budget_keeps_the_last_summary_until_the_next_read(
    db_engine: Engine, incident_factory: Any, brief_factory: Any
) -> None:
    store = SqlIncidentStore(db_engine)
    add(store, incident_factory(1), brief_factory("inc-00001"))
    reader = SqlBoardReader(db_engine)
    assert reader.brief_summaries(["inc-00001"])["inc-00001"].version == 1
    store.save_brief(replace(brief_factory("inc-00001"), version=2))
    assert reader.brief_summaries(["inc-00001"], budget_s=-1)["inc-00001"].version == 1  # no time: old line
    assert reader.brief_summaries(["inc-00001"])["inc-00001"].version == 2
