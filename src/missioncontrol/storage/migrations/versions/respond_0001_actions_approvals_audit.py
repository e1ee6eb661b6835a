"""respond: action requests, approvals, and the append-only hash-chained audit log.

Triggers on both servers refuse UPDATE and DELETE on `audit_log`.

Revision ID: respond_0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "respond_0001"
down_revision = None
branch_labels = ("respond",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_requests",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("service", sa.String(256), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("args_sha256", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("rule_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_action_requests"),
    )
    op.create_index("ix_action_requests_incident_id", "action_requests", ["incident_id"])
    op.create_table(
        "action_approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("approver", sa.String(128), nullable=False),
        sa.Column("args_sha256", sa.String(64), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["action_requests.id"], name="fk_action_approvals_request_id_action_requests"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_action_approvals"),
        sa.UniqueConstraint("request_id", "approver", name="uq_action_approvals_request_id"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
        sa.UniqueConstraint("prev_hash", name="uq_audit_log_prev_hash"),
        sa.UniqueConstraint("hash", name="uq_audit_log_hash"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {verb} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("audit_log")
    op.drop_table("action_approvals")
    op.drop_index("ix_action_requests_incident_id", table_name="action_requests")
    op.drop_table("action_requests")
