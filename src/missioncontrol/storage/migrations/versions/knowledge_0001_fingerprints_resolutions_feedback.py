"""knowledge: incident fingerprints, resolutions, feedback on hypotheses, alert outcome counts.

Revision ID: knowledge_0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "knowledge_0001"
down_revision = None
branch_labels = ("knowledge",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_fingerprints",
        sa.Column("incident_id", sa.String(128), nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("symptom", sa.String(256), nullable=True),
        sa.Column("alerts", sa.JSON(), nullable=False),
        sa.Column("tokens", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("embedding", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("incident_id", name="pk_knowledge_fingerprints"),
    )
    op.create_table(
        "knowledge_resolutions",
        sa.Column("incident_id", sa.String(128), nullable=False),
        sa.Column("cause_service", sa.String(256), nullable=True),
        sa.Column("cause_fault", sa.String(32), nullable=True),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.String(256), nullable=False),
        sa.Column("is_actionable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["knowledge_fingerprints.incident_id"],
            name="fk_knowledge_resolutions_incident_id_knowledge_fingerprints",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", name="pk_knowledge_resolutions"),
    )
    op.create_index("ix_knowledge_resolutions_cause_service", "knowledge_resolutions", ["cause_service"])
    op.create_table(
        "knowledge_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(128), nullable=False),
        sa.Column("service", sa.String(256), nullable=False),
        sa.Column("fault", sa.String(32), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("given_by", sa.String(256), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["knowledge_fingerprints.incident_id"],
            name="fk_knowledge_feedback_incident_id_knowledge_fingerprints",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_knowledge_feedback"),
    )
    op.create_index("ix_knowledge_feedback_incident_id", "knowledge_feedback", ["incident_id"])
    op.create_table(
        "knowledge_alert_outcomes",
        sa.Column("alert", sa.String(256), nullable=False),
        sa.Column("incidents", sa.Integer(), nullable=False),
        sa.Column("actionable", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("alert", name="pk_knowledge_alert_outcomes"),
    )


def downgrade() -> None:
    op.drop_table("knowledge_alert_outcomes")
    op.drop_index("ix_knowledge_feedback_incident_id", table_name="knowledge_feedback")
    op.drop_table("knowledge_feedback")
    op.drop_index("ix_knowledge_resolutions_cause_service", table_name="knowledge_resolutions")
    op.drop_table("knowledge_resolutions")
    op.drop_table("knowledge_fingerprints")
