"""stored services (what each encounter contributes to its patient's history) for the frequency
watch, filled from the stored documents; indexes for the work queues at a billing company's scale

Revision ID: 0008
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_pk", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("member_key", sa.String(length=120), nullable=True),
        sa.Column("name_key", sa.String(length=250), nullable=True),
        sa.Column("date_of_service", sa.Date(), nullable=False),
        sa.Column("family", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=20), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=True),
        sa.Column("codes", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["encounter_pk"], ["encounters.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_stored_services_encounter_pk"), "stored_services", ["encounter_pk"], unique=False
    )
    op.create_index(
        "ix_stored_services_date_family", "stored_services", ["date_of_service", "family"], unique=False
    )
    op.create_index(
        "ix_stored_services_person_date", "stored_services", ["person_id", "date_of_service"], unique=False
    )
    op.add_column("encounters", sa.Column("authorization_number", sa.String(length=80), nullable=True))
    op.create_index(
        op.f("ix_encounters_authorization_number"), "encounters", ["authorization_number"], unique=False
    )
    op.create_index(
        op.f("ix_claim_lines_authorization_number"), "claim_lines", ["authorization_number"], unique=False
    )
    op.create_index(
        "ix_encounters_queue",
        "encounters",
        ["status", "work_status", "practice_id", "ack_status", "payer_id", "date_of_service", "total_charge"],
        unique=False,
    )
    # the rows (and claim-level numbers) of every encounter already stored are filled by 0009_standings
    # (with the tables that the function every write calls fills beside them since then)


def downgrade() -> None:
    op.drop_index("ix_encounters_queue", table_name="encounters")
    op.drop_index(op.f("ix_claim_lines_authorization_number"), table_name="claim_lines")
    op.drop_index(op.f("ix_encounters_authorization_number"), table_name="encounters")
    with op.batch_alter_table("encounters") as batch:
        batch.drop_column("authorization_number")
    op.drop_index("ix_stored_services_person_date", table_name="stored_services")
    op.drop_index("ix_stored_services_date_family", table_name="stored_services")
    op.drop_index(op.f("ix_stored_services_encounter_pk"), table_name="stored_services")
    op.drop_table("stored_services")
