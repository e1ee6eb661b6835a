"""Alembic environment: runs the migrations against the engine `storage.db.migrate` hands over."""

from alembic import context
from sqlalchemy import Engine

from missioncontrol.storage.db import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through missioncontrol.storage.db.migrate(engine)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()
