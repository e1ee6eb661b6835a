"""The world model as of a time: catalog history, the change log and call edges from spans.

Runs on SQLite and on the real PostgreSQL (`db_engine`), with call edges from a real chDB store.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from missioncontrol.domain import CatalogEntry, Change, ChangeKind, ServiceId, Span, Team, Telemetry
from missioncontrol.storage.telemetry import ChdbTelemetryStore
from missioncontrol.storage.world import ENTRIES, SqlWorldModel, change_key

S = ServiceId


def t(hour: int, minute: int) -> datetime:
    return datetime(2026, 12, 2, hour, minute, tzinfo=UTC)


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


@pytest.fixture(scope="module")
def spans_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbTelemetryStore]:
    """Spans of one estate: frontend → cart all morning; cart → search only from 09:10."""
    with ChdbTelemetryStore(tmp_path_factory.mktemp("world-chdb")) as store:
        spans = []
        for i, start in enumerate([t(8, 30), t(9, 0), t(9, 10)]):
            trace = f"{i:032x}"
            spans.append(
                Span(trace, f"{i}a".rjust(16, "0"), None, S("frontend"), "GET /", ns(start), ns(start) + 9)
            )
            spans.append(
                Span(
                    trace,
                    f"{i}b".rjust(16, "0"),
                    f"{i}a".rjust(16, "0"),
                    S("cart"),
                    "get",
                    ns(start) + 1,
                    ns(start) + 5,
                )
            )
            if start >= t(9, 10):
                spans.append(
                    Span(
                        trace,
                        f"{i}c".rjust(16, "0"),
                        f"{i}b".rjust(16, "0"),
                        S("search"),
                        "q",
                        ns(start) + 2,
                        ns(start) + 3,
                    )
                )
        store.append(Telemetry(spans=tuple(spans)))
        yield store


@pytest.fixture
def world(db_engine: Engine, spans_store: ChdbTelemetryStore) -> SqlWorldModel:
    return SqlWorldModel(db_engine, spans_store, lookback=timedelta(hours=1))


def checkout(owner: str, *depends_on: str) -> CatalogEntry:
    return CatalogEntry(
        S("checkout"), owner=owner, system="shop", tier="1", depends_on=tuple(S(d) for d in depends_on)
    )


def test_an_edge_seen_in_spans_at_0910_is_absent_at_0905_and_present_at_0912(world: SqlWorldModel) -> None:
    assert ("cart", "search") not in world.graph_at(t(9, 5)).edges
    at_0912 = world.graph_at(t(9, 12))
    assert ("cart", "search") in at_0912.edges
    assert ("frontend", "cart") in at_0912.edges
    assert world.graph_at(t(10, 9)).edges == frozenset({("cart", "search"), ("frontend", "cart")})
    assert world.graph_at(t(11, 11)).edges == frozenset()  # older than the lookback


def test_a_dependency_and_owner_changed_at_0910_are_as_of(world: SqlWorldModel) -> None:
    world.record_catalog([checkout("team-a", "payments")], [], at=t(9, 0))
    world.record_catalog([checkout("team-b", "payments", "fraud")], [], at=t(9, 10))

    assert world.catalog_entry(S("checkout"), at=t(8, 59)) is None
    before = world.catalog_entry(S("checkout"), at=t(9, 5))
    after = world.catalog_entry(S("checkout"), at=t(9, 12))
    assert before is not None and after is not None
    assert (before.owner, before.depends_on, before.observed_at) == ("team-a", ("payments",), t(9, 0))
    assert (after.owner, after.depends_on, after.observed_at) == ("team-b", ("payments", "fraud"), t(9, 10))
    assert world.catalog_entry(S("checkout"), at=t(9, 10)) == after  # valid_from is inclusive

    assert ("checkout", "fraud") not in world.graph_at(t(9, 5)).edges
    graph = world.graph_at(t(9, 12))
    assert {("checkout", "payments"), ("checkout", "fraud"), ("cart", "search")} <= graph.edges
    assert graph.callees(S("checkout")) == ("fraud", "payments")


def test_a_team_changed_at_0910_is_as_of(world: SqlWorldModel) -> None:
    world.record_catalog([], [Team("payments", slack_channel="#pay-old", members=("ann",))], at=t(9, 0))
    world.record_catalog(
        [], [Team("payments", slack_channel="#pay-oncall", members=("ann", "bo"))], at=t(9, 10)
    )
    old = world.team("payments", at=t(9, 5))
    new = world.team("payments", at=t(9, 12))
    assert old is not None and old.slack_channel == "#pay-old"
    assert new is not None and new.members == ("ann", "bo")
    assert world.team("payments") == new  # now
    assert world.team("payments", at=t(8, 0)) is None
    assert [team.name for team in world.teams(at=t(9, 12))] == ["payments"]


def test_the_same_catalog_again_adds_no_version(world: SqlWorldModel, db_engine: Engine) -> None:
    for minute in (0, 5, 10):
        world.record_catalog([checkout("team-a", "payments")], [], at=t(9, minute))
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ENTRIES)).scalar_one() == 1
    (entry,) = world.catalog_entries(at=t(9, 12))
    assert (entry.owner, entry.depends_on, entry.observed_at) == ("team-a", ("payments",), t(9, 0))


def test_a_version_recorded_late_is_slotted_into_the_history(world: SqlWorldModel) -> None:
    world.record_catalog([checkout("team-b")], [], at=t(9, 10))
    world.record_catalog([checkout("team-a")], [], at=t(9, 0))  # arrives late, says what held from 09:00
    world.record_catalog([checkout("team-c")], [], at=t(9, 20))
    owners = [world.catalog_entry(S("checkout"), at=t(9, m)) for m in (5, 12, 25)]
    assert [e.owner if e else None for e in owners] == ["team-a", "team-b", "team-c"]


def test_changes_are_kept_once_and_read_half_open_oldest_first(world: SqlWorldModel) -> None:
    deploy = Change(S("checkout"), ChangeKind.DEPLOY, t(9, 10), "v2.3.1")
    flag = Change(S("search"), ChangeKind.FEATURE_FLAG, t(9, 2), "new-ranker on")
    late = Change(S("cart"), ChangeKind.CONFIG, t(9, 30), "pool 10 -> 5")
    assert world.record_changes([deploy, flag, flag]) == 2
    assert world.record_changes([deploy, late]) == 1
    assert world.record_changes([]) == 0
    assert world.changes_between(t(9, 0), t(9, 30)) == (flag, deploy)
    assert world.changes_between(t(9, 10), t(9, 11)) == (deploy,)
    # Another description at the same instant is another change.
    assert world.record_changes([Change(S("checkout"), ChangeKind.DEPLOY, t(9, 10), "v2.3.2")]) == 1


def test_a_change_key_ignores_the_time_zone_it_was_written_in() -> None:
    plus_two = t(9, 10).astimezone(ZoneInfo("Europe/Athens"))
    assert change_key(Change(S("a"), ChangeKind.DEPLOY, t(9, 10))) == change_key(
        Change(S("a"), ChangeKind.DEPLOY, plus_two)
    )


def test_naive_times_are_refused(world: SqlWorldModel) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        world.graph_at(datetime(2026, 12, 2, 9, 0))
    with pytest.raises(ValueError, match="naive datetime"):
        world.record_changes([Change(S("a"), ChangeKind.DEPLOY, datetime(2026, 12, 2, 9, 0))])


def test_without_spans_the_graph_is_the_catalog(db_engine: Engine) -> None:
    world = SqlWorldModel(db_engine, None)
    world.record_catalog([checkout("team-a", "payments"), CatalogEntry(S("lonely"))], [], at=t(9, 0))
    graph = world.graph_at(t(9, 1))
    assert graph.edges == frozenset({("checkout", "payments")})
    assert graph.services == {"checkout", "payments", "lonely"}
