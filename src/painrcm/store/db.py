"""Database connection and migrations. SQLite in a file is the embedded default; a
``postgresql+psycopg://`` URL in ``PAINRCM_DATABASE_URL`` (or ``--db``) selects PostgreSQL.

Availability rules every caller relies on:
- SQLite runs in WAL mode (readers never wait for the writer) with a busy timeout
  (``PAINRCM_SQLITE_BUSY_MS``, 5 s by default); writers keep their transactions short.
- A write that cannot get its lock in time raises `Busy` (the web app answers 503 with
  Retry-After), never a bare "database is locked".
- SQL parameters never reach an exception message or a log line (``hide_parameters``): they hold
  patient data.
- Text the schema cannot hold (longer than its column, or with a NUL character, which PostgreSQL
  refuses and SQLite would keep) is refused before any SQL runs, the same on both databases
  (`TooLong`, `BadText`; see ``store.boundaries``).
- `defer_write` queues a best-effort write (an audit entry of a read, a token's last use) that runs
  after the request's own transaction in a short transaction of its own; it never turns a
  successful read into an error.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, String, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from painrcm.codes.loader import painrcm_home

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger("painrcm.store.db")


class Busy(Exception):
    """The database could not give a lock in time (SQLite busy, PostgreSQL lock or deadlock): retry."""

    retry_after = 2

    def __init__(self, what: str = "the database is busy") -> None:
        super().__init__(f"{what}; try again in a moment")


class BadText(ValueError):
    """A text value the schema cannot store: longer than its column, or holding a NUL character."""

    def __init__(self, table: str, column: str, problem: str) -> None:
        self.table, self.column, self.problem = table, column, problem
        super().__init__(f"{table}.{column}: {problem}")


_BUSY_SQLSTATES = {"55P03", "40P01", "40001"}  # lock not available, deadlock, serialization failure


def is_busy(e: BaseException) -> bool:
    """Whether a database error means "could not get a lock in time" (retryable)."""
    if isinstance(e, Busy):
        return True
    if not isinstance(e, exc.DBAPIError):
        return False
    orig = e.orig
    if getattr(orig, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    text = str(orig).lower()
    return isinstance(e, exc.OperationalError) and ("database is locked" in text or "busy" in text)


def busy_ms() -> int:
    try:
        return max(0, int(os.environ.get("PAINRCM_SQLITE_BUSY_MS", "5000")))
    except ValueError:
        return 5000


def default_url() -> str:
    env = os.environ.get("PAINRCM_DATABASE_URL")
    if env:
        return env
    home = painrcm_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'painrcm.db'}"


def make_engine(url: str | None = None) -> Engine:
    url = url or default_url()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, hide_parameters=True, echo=False
        )
        timeout = busy_ms()

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={timeout}")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
            cur.close()

        return engine
    # no JIT compilation: the workspace's statements are short, and PostgreSQL compiles any whose
    # estimated cost passes jit_above_cost, which at 100,000 claims cost pages up to a second of
    # compiling for a few hundred milliseconds of work (the underpayments count, measured)
    return create_engine(
        url,
        pool_pre_ping=True,
        hide_parameters=True,
        echo=False,
        connect_args={"options": "-c jit=off"},
    )


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to `revision` in place (idempotent)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def check_text(obj: object) -> None:
    """Refuse a row whose text the schema cannot hold (see the module docstring)."""
    table = getattr(obj, "__table__", None)
    if table is None:
        return
    for col in table.columns:
        if isinstance(col.type, String):
            check_value(table.name, col.key, col.type.length, getattr(obj, col.key, None))


def check_value(table: str, column: str, limit: int | None, value: object) -> None:
    if not isinstance(value, str):
        return
    if "\x00" in value:
        raise BadText(table, column, "text with a NUL character")
    if limit is not None and len(value) > limit:
        raise BadText(table, column, f"at most {limit} characters (got {len(value)})")


def nul_in(value: object, depth: int = 0) -> bool:
    """Whether a value (text, or a dict or list holding text at any depth) holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if depth > 100:
        return False
    if isinstance(value, dict):
        return any(nul_in(k, depth + 1) or nul_in(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(nul_in(v, depth + 1) for v in value)
    return False


@event.listens_for(Session, "before_flush")
def _guard_text(session: Session, _ctx: object, _instances: object) -> None:
    for obj in list(session.new) + list(session.dirty):
        check_text(obj)


def _params_have_nul(params: object) -> bool:
    if isinstance(params, dict):
        return any(nul_in(v) for v in params.values())
    if isinstance(params, (list, tuple)):
        return any(_params_have_nul(p) if isinstance(p, (dict, list, tuple)) else nul_in(p) for p in params)
    return False


# Execution option of a statement whose parameters were checked value by value before it was made
# (store/rows.py: each text column and JSON document as rows are written): the guard below does not
# walk them again.
CHECKED = "painrcm_text_checked"


def _nul_guard(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _no_nul(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        # a NUL in a filter or a value: PostgreSQL refuses it (SQLite would keep it); refuse it on both
        if context is not None and context.execution_options.get(CHECKED):
            return
        if parameters and _params_have_nul(parameters):
            raise BadText("query", "parameter", "text with a NUL character")


class _NoRows(logging.Filter):
    """SQLAlchemy at DEBUG logs each fetched row (patient rows included): never let those through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Row "))


logging.getLogger("sqlalchemy.engine.Engine").addFilter(_NoRows())

Deferred = Callable[[Session], None]


def defer_write(s: Session, fn: Deferred) -> None:
    """Run `fn(session)` after `s` commits, in a short transaction of its own; a failure there is
    logged (without data) and does not fail the caller."""
    s.info.setdefault("deferred", []).append(fn)


class Database:
    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.engine = make_engine(url)
        _nul_guard(self.engine)
        if migrate:
            upgrade(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        s = self.sessions()
        try:
            yield s
            s.commit()
        except BaseException as e:
            s.rollback()
            if is_busy(e) and not isinstance(e, Busy):
                raise Busy() from None  # the DBAPI text is dropped: it may quote the statement's data
            raise
        finally:
            deferred = s.info.pop("deferred", [])
            s.close()
        if deferred:
            self.run_deferred(deferred)

    def run_deferred(self, deferred: list[Deferred], attempts: int = 3) -> None:
        for attempt in range(attempts):
            s = self.sessions()
            try:
                for fn in deferred:
                    fn(s)
                s.commit()
                return
            except Exception as e:  # noqa: BLE001 - best effort by definition
                s.rollback()
                if not is_busy(e) or attempt == attempts - 1:
                    log.warning("a deferred write (audit entry) was not stored: %s", type(e).__name__)
                    return
                time.sleep(0.05 * (attempt + 1))
            finally:
                s.close()
