"""a claim's latest scrub run off an index: scrub_runs(encounter_pk, id) in place of (encounter_pk)

Revision ID: 0011_latest_runs
Revises: 0010_patient_names
"""

from __future__ import annotations

from alembic import op

revision = "0011_latest_runs"
down_revision = "0010_patient_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "is there a later run of this claim" (the dashboard's findings by edit, the queues' edit filter)
    # answered from the index alone; it serves the look-ups by claim the old one served
    op.create_index("ix_scrub_runs_encounter_run", "scrub_runs", ["encounter_pk", "id"])
    op.drop_index("ix_scrub_runs_encounter_pk", table_name="scrub_runs")
    op.execute("ANALYZE scrub_runs")


def downgrade() -> None:
    op.create_index("ix_scrub_runs_encounter_pk", "scrub_runs", ["encounter_pk"])
    op.drop_index("ix_scrub_runs_encounter_run", table_name="scrub_runs")
