"""claim authorization uses (the tracker counts sessions in SQL), authorization number and member keys,
and the frequency watch's stored standings (snapshots per date, recomputed lazily when stale)

Revision ID: 0009_standings
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0009_standings"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("authorizations") as batch:
        batch.add_column(sa.Column("number_key", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("member_key", sa.String(length=80), nullable=True))
    op.create_index(op.f("ix_authorizations_number_key"), "authorizations", ["number_key"], unique=False)
    op.create_table(
        "claim_auth_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_pk", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("member_key", sa.String(length=80), nullable=True),
        sa.Column("number_key", sa.String(length=80), nullable=False),
        sa.Column("date_of_service", sa.Date(), nullable=False),
        sa.Column("level", sa.String(length=5), nullable=False),
        sa.Column("lines", sa.String(length=200), nullable=False),
        sa.Column("codes", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(["encounter_pk"], ["encounters.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_claim_auth_uses_encounter_pk"), "claim_auth_uses", ["encounter_pk"])
    op.create_index(op.f("ix_claim_auth_uses_person_id"), "claim_auth_uses", ["person_id"])
    op.create_index("ix_claim_auth_uses_number_person", "claim_auth_uses", ["number_key", "person_id"])
    op.create_index("ix_claim_auth_uses_number_member", "claim_auth_uses", ["number_key", "member_key"])
    op.create_table(
        "standing_snapshots",
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("rules", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"),
                  nullable=False),
        sa.PrimaryKeyConstraint("on"),
    )  # fmt: skip
    op.create_table(
        "standing_persons",
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.String(length=40), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("last_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["on"], ["standing_snapshots.on"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("on", "person_id", "practice_id"),
    )
    op.create_table(
        "standing_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.String(length=40), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("last_pk", sa.Integer(), nullable=False),
        sa.Column("latest", sa.Boolean(), nullable=False),
        sa.Column("practices", sa.Integer(), nullable=False),
        sa.Column("patient", sa.String(length=250), nullable=True),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("limit_id", sa.String(length=80), nullable=False),
        sa.Column("edit", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=20), nullable=True),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("max", sa.Integer(), nullable=False),
        sa.Column("left", sa.Integer(), nullable=False),
        sa.Column("window_months", sa.Integer(), nullable=False),
        sa.Column("next_payable", sa.Date(), nullable=False),
        sa.Column("last_session", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(["on"], ["standing_snapshots.on"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_standing_rows_on_person", "standing_rows", ["on", "person_id", "practice_id"])
    op.create_index(
        "ix_standing_rows_order", "standing_rows", ["on", "left", "next_payable", "practice_id", "patient"]
    )
    op.create_index(
        "ix_standing_rows_counts", "standing_rows", ["on", "latest", "state", "person_id", "practice_id"]
    )
    op.create_table(
        "standing_dirty",
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["on"], ["standing_snapshots.on"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("on", "person_id"),
    )
    # the keys of every authorization and the uses of every stored claim (the functions every write
    # calls); no snapshot: the first read of a date computes it
    # (a database upgraded from before 0008 gets its stored services too: they are rebuilt whole;
    # one already at 0008 has them, and only the claims carrying a number have uses)
    from painrcm.store import models as m
    from painrcm.store.auth_usage import refresh_keys
    from painrcm.store.service_rows import refresh_all, refresh_numbered

    with Session(bind=op.get_bind()) as s:
        refresh_keys(s)
        if s.scalar(sa.select(m.StoredService.id).limit(1)) is None:
            refresh_all(s)
        else:
            refresh_numbered(s)
        s.flush()


def downgrade() -> None:
    op.drop_table("standing_dirty")
    op.drop_index("ix_standing_rows_counts", table_name="standing_rows")
    op.drop_index("ix_standing_rows_order", table_name="standing_rows")
    op.drop_index("ix_standing_rows_on_person", table_name="standing_rows")
    op.drop_table("standing_rows")
    op.drop_table("standing_persons")
    op.drop_table("standing_snapshots")
    op.drop_index("ix_claim_auth_uses_number_member", table_name="claim_auth_uses")
    op.drop_index("ix_claim_auth_uses_number_person", table_name="claim_auth_uses")
    op.drop_index(op.f("ix_claim_auth_uses_person_id"), table_name="claim_auth_uses")
    op.drop_index(op.f("ix_claim_auth_uses_encounter_pk"), table_name="claim_auth_uses")
    op.drop_table("claim_auth_uses")
    op.drop_index(op.f("ix_authorizations_number_key"), table_name="authorizations")
    with op.batch_alter_table("authorizations") as batch:
        batch.drop_column("member_key")
        batch.drop_column("number_key")
