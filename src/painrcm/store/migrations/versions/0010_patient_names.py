"""claims carry their patient's name as the queues sort it (encounters.patient_name, indexed)

Revision ID: 0010_patient_names
Revises: 0009_standings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0010_patient_names"
down_revision = "0009_standings"
branch_labels = None
depends_on = None
# ix_encounters_queue before this revision
QUEUE = ("status", "work_status", "practice_id", "ack_status", "payer_id", "date_of_service", "total_charge")


def upgrade() -> None:
    name = sa.String(length=250).with_variant(sa.String(length=250, collation="C"), "postgresql")
    op.add_column("encounters", sa.Column("patient_name", name, nullable=True))
    # every claim's name from its person (the function every write calls), then the index over it
    from painrcm.store.service_rows import refresh_patient_names

    with Session(bind=op.get_bind()) as s:
        refresh_patient_names(s)
        s.flush()
    # the queue index leads with the work status (the claims without the history rows) and ends with
    # the ID (index-only pages)
    op.drop_index("ix_encounters_queue", table_name="encounters")
    op.create_index("ix_encounters_queue", "encounters", [*QUEUE[1:2], QUEUE[0], *QUEUE[2:], "id"])
    op.create_index(
        "ix_encounters_patient",
        "encounters",
        ["patient_name", "id", "work_status", "practice_id", "payer_id", "date_of_service"],
    )
    # the planners' statistics of the new indexes (SQLite keeps none of its own accord, and with those
    # of the other indexes only it sorts the book by patient rather than walk the index)
    op.execute("ANALYZE encounters")


def downgrade() -> None:
    op.drop_index("ix_encounters_patient", table_name="encounters")
    op.drop_index("ix_encounters_queue", table_name="encounters")
    op.create_index("ix_encounters_queue", "encounters", list(QUEUE))
    with op.batch_alter_table("encounters") as batch:
        batch.drop_column("patient_name")
