"""Storage adapters: the SQL state store (SQLAlchemy 2 + Alembic) and the telemetry store."""
