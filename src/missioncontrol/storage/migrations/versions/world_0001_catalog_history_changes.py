"""world: catalog entries and teams as versions (valid_from/valid_to), and the change log.

Revision ID: world_0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "world_0001"
down_revision = None
branch_labels = ("world",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service", sa.String(256), nullable=False),
        sa.Column("owner", sa.String(256), nullable=False),
        sa.Column("system", sa.String(256), nullable=False),
        sa.Column("lifecycle", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("depends_on", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_entries"),
        sa.UniqueConstraint("service", "valid_from", name="uq_catalog_entries_service_valid_from"),
    )
    op.create_index("ix_catalog_entries_valid", "catalog_entries", ["valid_from", "valid_to"])
    op.create_table(
        "catalog_teams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("email", sa.String(256), nullable=False),
        sa.Column("slack_channel", sa.String(256), nullable=False),
        sa.Column("pagerduty_service", sa.String(256), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_teams"),
        sa.UniqueConstraint("name", "valid_from", name="uq_catalog_teams_name_valid_from"),
    )
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("service", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_changes"),
        sa.UniqueConstraint("key", name="uq_changes_key"),
    )
    op.create_index("ix_changes_service", "changes", ["service"])
    op.create_index("ix_changes_at", "changes", ["at"])


def downgrade() -> None:
    op.drop_index("ix_changes_at", table_name="changes")
    op.drop_index("ix_changes_service", table_name="changes")
    op.drop_table("changes")
    op.drop_table("catalog_teams")
    op.drop_index("ix_catalog_entries_valid", table_name="catalog_entries")
    op.drop_table("catalog_entries")
