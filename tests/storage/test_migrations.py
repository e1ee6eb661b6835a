"""The migrations are the schema: they apply cleanly on both servers and match the declared tables."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from missioncontrol.storage.db import Base, alembic_config, create_db_engine, migrate


def test_migrations_match_the_declared_tables(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"a table changed without a migration: {diff}"


def test_every_branch_is_one_linear_chain(db_engine: Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config(db_engine))
    heads = script.get_heads()
    labels = [label for head in heads for label in script.get_revision(head).branch_labels or ()]
    for head in heads:
        branch = {r.revision for r in script.iterate_revisions(head, "base")}
        labelled = [script.get_revision(r).branch_labels for r in branch]
        assert any(labelled), f"branch ending at {head} has no branch label"
    assert len(set(labels)) <= len(heads)


def test_migrating_twice_changes_nothing(tmp_path: object) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/twice.db")
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
