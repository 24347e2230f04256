"""claim versions and uploaded fee schedules (issue 9)

Revision ID: 0003
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_pk", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("frequency_code", sa.String(length=1), nullable=False),
        sa.Column("payer_claim_number", sa.String(length=80), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["encounter_pk"], ["encounters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("encounter_pk", "number"),
    )
    with op.batch_alter_table("claim_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_versions_encounter_pk"), ["encounter_pk"], unique=False)
    op.create_table(
        "fee_schedule_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.String(length=40), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("modifier", sa.String(length=2), nullable=False),
        sa.Column("facility_rate", sa.Float(), nullable=False),
        sa.Column("nonfacility_rate", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column(
            "uploaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"]),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("practice_id", "payer_id", "code", "modifier"),
    )
    with op.batch_alter_table("fee_schedule_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fee_schedule_rows_practice_id"), ["practice_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fee_schedule_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fee_schedule_rows_practice_id"))
    op.drop_table("fee_schedule_rows")
    with op.batch_alter_table("claim_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_versions_encounter_pk"))
    op.drop_table("claim_versions")
