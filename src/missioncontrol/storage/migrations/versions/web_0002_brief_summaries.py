"""web: the board's cached one-line summaries of the latest brief per incident.

Revision ID: web_0002
Revises: web_0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "web_0002"
down_revision = "web_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_brief_summaries",
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("suspect", sa.String(256), nullable=False),
        sa.Column("fault", sa.String(32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("owner", sa.String(256), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name="pk_web_brief_summaries"),
    )


def downgrade() -> None:
    op.drop_table("web_brief_summaries")
