"""prior-authorization requests (issue 14)

Revision ID: 0007
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=80), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("member_id", sa.String(length=80), nullable=True),
        sa.Column("rendering_npi", sa.String(length=10), nullable=True),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("auth_codes", sa.JSON(), nullable=False),
        sa.Column("families", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("waiting_for", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("response_due", sa.Date(), nullable=False),
        sa.Column("authorization_id", sa.Integer(), nullable=True),
        sa.Column("auth_number", sa.String(length=80), nullable=True),
        sa.Column("payer_note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["authorization_id"], ["authorizations.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("practice_id", "request_id"),
    )
    with op.batch_alter_table("auth_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_requests_practice_id"), ["practice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_requests_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_requests_planned_date"), ["planned_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auth_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_requests_planned_date"))
        batch_op.drop_index(batch_op.f("ix_auth_requests_person_id"))
        batch_op.drop_index(batch_op.f("ix_auth_requests_practice_id"))
    op.drop_table("auth_requests")
