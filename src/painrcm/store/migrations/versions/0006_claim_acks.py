"""claim acknowledgements (999/277CA): claim_acks table, encounters.ack_status and ack_reason

Revision ID: 0006
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_acks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.String(length=40), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("encounter_pk", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("patient_control_number", sa.String(length=80), nullable=False),
        sa.Column("payer_claim_number", sa.String(length=80), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("next_action", sa.Text(), nullable=True),
        sa.Column("preventing_edits", sa.JSON(), nullable=False),
        sa.Column("ack_date", sa.Date(), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["encounter_pk"], ["encounters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["import_id"], ["import_jobs.id"]),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("claim_acks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_acks_encounter_pk"), ["encounter_pk"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_claim_acks_patient_control_number"), ["patient_control_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_claim_acks_practice_id"), ["practice_id"], unique=False)
    with op.batch_alter_table("encounters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ack_status", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("ack_reason", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_encounters_ack_status"), ["ack_status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("encounters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_encounters_ack_status"))
        batch_op.drop_column("ack_reason")
        batch_op.drop_column("ack_status")
    with op.batch_alter_table("claim_acks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_acks_practice_id"))
        batch_op.drop_index(batch_op.f("ix_claim_acks_patient_control_number"))
        batch_op.drop_index(batch_op.f("ix_claim_acks_encounter_pk"))
    op.drop_table("claim_acks")
