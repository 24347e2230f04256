"""Migrations on both databases: an empty database reaches head, upgrading again changes nothing, the
migrations and the models agree (what `alembic check` does), and data survives an in-place upgrade."""

from __future__ import annotations

from datetime import date

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Table, insert, inspect, select, text

from painrcm.store import models as m
from painrcm.store.db import Database, alembic_config, make_engine, upgrade


def _heads(url: str) -> tuple[str, list[str]]:
    script = ScriptDirectory.from_config(alembic_config(url))
    revs = list(script.walk_revisions())  # newest first
    return script.get_current_head() or "", [r.revision for r in reversed(revs)]


def _version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_empty_database_upgrades_to_head(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert _version(engine) is None
        upgrade(engine)
        head, _ = _heads(database_url)
        assert _version(engine) == head
        tables = set(inspect(engine).get_table_names())
        assert set(m.Base.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.session() as s:
            s.add(m.Practice(id="P01", name="Mesa"))
        before = (_version(db.engine), sorted(inspect(db.engine).get_table_names()))
        upgrade(db.engine)
        Database(database_url).engine.dispose()  # opening migrates again
        assert (_version(db.engine), sorted(inspect(db.engine).get_table_names())) == before
        with db.session() as s:
            assert [p.id for p in s.scalars(select(m.Practice))] == ["P01"]
    finally:
        db.engine.dispose()


def test_models_and_migrations_agree(database_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to add, drop or alter after upgrading to head."""
    db = Database(database_url)
    try:
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False}
            )
            diff = compare_metadata(ctx, m.Base.metadata)
        assert diff == [], f"models differ from the migrations: {diff}"
    finally:
        db.engine.dispose()


def test_existing_database_is_upgraded_in_place(database_url: str) -> None:
    """A database at the first revision with data in it reaches head with its rows intact."""
    head, revisions = _heads(database_url)
    engine = make_engine(database_url)
    try:
        upgrade(engine, revisions[0])
        meta = MetaData()
        practices = Table("practices", meta, autoload_with=engine)
        persons = Table("persons", meta, autoload_with=engine)
        with engine.begin() as conn:
            conn.execute(insert(practices).values(id="P01", name="Mesa Spine & Pain", kind="physician"))
            conn.execute(
                insert(persons).values(id=7, member_key="1EG4TE5MK73|1956-04-02", dob=date(1956, 4, 2))
            )
        upgrade(engine)
        assert _version(engine) == head
        with engine.connect() as conn:
            assert (
                conn.execute(text("SELECT name FROM practices WHERE id = 'P01'")).scalar_one()
                == "Mesa Spine & Pain"
            )
        db = Database(database_url)  # the application opens (and would migrate) the same database
        with db.session() as s:
            person = s.get(m.Person, 7)
            assert person is not None and person.dob == date(1956, 4, 2)
        db.engine.dispose()
    finally:
        engine.dispose()
