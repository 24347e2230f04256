"""`painrcm admin`: take a fresh workspace live from a shell or a script (no browser needed).

    painrcm admin create-practice --id P01 --name "Mesa Spine & Pain" --npi 1245319599
    painrcm admin create-user --email ada@example.com --name "Ada" --role admin --password-stdin
    painrcm admin reset-password --email ada@example.com          # prints a new random password
    painrcm admin users

Every command takes ``--db URL`` (default: PAINRCM_DATABASE_URL, else SQLite in PAINRCM_HOME), opens
(and migrates) the database, and writes an audit entry (``via: cli``, never the password). A password
comes from ``--password-stdin`` (one line on standard input, for scripts), ``--password``, or is
generated and printed once. Bad input: one line on stderr and exit 2.
"""

from __future__ import annotations

import errno
import secrets
import socket
import sys
from typing import Annotated

import typer

admin_app = typer.Typer(
    help="Create practices and users, reset passwords (the first admin of a new workspace starts here).",
    no_args_is_help=True,
)
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: PAINRCM_DATABASE_URL, else SQLite in PAINRCM_HOME)."),
]


def _die(message: str) -> typer.Exit:
    print(f"painrcm: {message}", file=sys.stderr)
    return typer.Exit(2)


def _database(url: str | None):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import ArgumentError, OperationalError

    from painrcm.store.db import Database, default_url

    try:
        return Database(url or default_url())
    except (
        ArgumentError,
        OperationalError,
        ValueError,
    ) as e:  # an unreachable server or a bad URL: one line, no traceback
        raise _die(f"cannot open the database {url or default_url()!r}: {str(e).splitlines()[0]}") from None


def _password(given: str | None, from_stdin: bool) -> tuple[str, bool]:
    """(password, generated?)"""
    from painrcm.store.queries_work import MIN_PASSWORD

    if from_stdin:
        given = sys.stdin.readline().rstrip("\r\n")
    if given is None or given == "":
        return secrets.token_urlsafe(15), True
    if len(given) < MIN_PASSWORD:
        raise _die(f"the password needs at least {MIN_PASSWORD} characters")
    return given, False


@admin_app.command("create-practice")
def create_practice(
    practice_id: Annotated[str, typer.Option("--id", help="Short practice ID, e.g. P01.")],
    name: Annotated[str, typer.Option("--name", help="The practice's name.")],
    npi: Annotated[str | None, typer.Option("--npi", help="Group NPI (10 digits).")] = None,
    tax_id: Annotated[str | None, typer.Option("--tax-id")] = None,
    kind: Annotated[str, typer.Option("--kind", help="physician or asc.")] = "physician",
    state: Annotated[str | None, typer.Option("--state", help="Two-letter state.")] = None,
    db: DbOpt = None,
) -> None:
    """Add a practice (an existing ID is an error: nothing is overwritten)."""
    from painrcm.store import models as m
    from painrcm.store import services

    practice_id = practice_id.strip()
    if not practice_id or len(practice_id) > 40:
        raise _die("--id needs 1 to 40 characters")
    if npi is not None and not (npi.isdigit() and len(npi) == 10):
        raise _die(f"--npi must be 10 digits (got {npi!r})")
    if kind not in ("physician", "asc"):
        raise _die(f"--kind must be physician or asc (got {kind!r})")
    if state is not None and len(state.strip()) != 2:
        raise _die(f"--state must be a two-letter code (got {state!r})")
    database = _database(db)
    with database.session() as s:
        if s.get(m.Practice, practice_id) is not None:
            raise _die(f"practice {practice_id} exists")
        s.add(
            m.Practice(
                id=practice_id,
                name=name.strip() or practice_id,
                npi=npi,
                tax_id=tax_id,
                kind=kind,
                state=state.strip().upper() if state else None,
            )
        )
        services.audit(s, None, "create", "practice", practice_id, practice_id, via="cli")
    print(f"practice {practice_id} created")


@admin_app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option("--email")],
    name: Annotated[str, typer.Option("--name")],
    role: Annotated[str, typer.Option("--role", help="admin, supervisor or biller.")] = "biller",
    practices: Annotated[
        list[str] | None, typer.Option("--practice", help="A practice the user works (repeatable; billers).")
    ] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="Avoid on shared machines: shell history keeps it.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Add a user. Without a password option a random one is made and printed once."""
    from sqlalchemy import func, select

    from painrcm.store import models as m
    from painrcm.store import services
    from painrcm.store.queries_work import ROLES
    from painrcm.web.security import hash_password

    email = email.strip().lower()
    if "@" not in email or len(email) > 200:
        raise _die(f"--email must be an email address (got {email!r})")
    if role not in ROLES:
        raise _die(f"--role must be one of {', '.join(ROLES)} (got {role!r})")
    if not name.strip():
        raise _die("--name must not be empty")
    secret, generated = _password(password, password_stdin)
    database = _database(db)
    with database.session() as s:
        wanted = sorted({p.strip() for p in practices or [] if p.strip()})
        for pid in wanted:
            if s.get(m.Practice, pid) is None:
                raise _die(f"unknown practice {pid} (create it with `painrcm admin create-practice`)")
        if s.scalars(select(m.User.id).where(func.lower(m.User.email) == email)).first() is not None:
            raise _die(f"a user with email {email} exists (use `painrcm admin reset-password`)")
        user = m.User(
            email=email, name=name.strip(), role=role, password_hash=hash_password(secret), active=True
        )
        s.add(user)
        s.flush()
        s.add_all(m.UserPractice(user_id=user.id, practice_id=p) for p in wanted)
        services.audit(s, None, "create", "user", user.id, None, role=role, practices=wanted, via="cli")
    print(f"user {email} created ({role}{', ' + ', '.join(wanted) if wanted else ''})")
    if generated:
        print(f"password: {secret}  (shown only now)")


@admin_app.command("reset-password")
def reset_password(
    email: Annotated[str, typer.Option("--email")],
    password: Annotated[str | None, typer.Option("--password")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    activate: Annotated[
        bool, typer.Option("--activate", help="Also re-activate a deactivated user.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Set a new password (random and printed once without a password option) and end the user's
    sessions."""
    from sqlalchemy import delete, func, select

    from painrcm.store import models as m
    from painrcm.store import services
    from painrcm.web.security import hash_password

    secret, generated = _password(password, password_stdin)
    database = _database(db)
    with database.session() as s:
        user = s.scalars(select(m.User).where(func.lower(m.User.email) == email.strip().lower())).first()
        if user is None:
            raise _die(f"no user with email {email.strip().lower()}")
        user.password_hash = hash_password(secret)
        if activate:
            user.active = True
        s.execute(delete(m.WebSession).where(m.WebSession.user_id == user.id))
        services.audit(s, None, "update", "user", user.id, None, password=True, activated=activate, via="cli")
        active = user.active
    print(f"password of {email.strip().lower()} reset" + ("" if active else " (the user is deactivated)"))
    if generated:
        print(f"password: {secret}  (shown only now)")


@admin_app.command("users")
def users(db: DbOpt = None) -> None:
    """List users, roles and practices."""
    from painrcm.store.queries_work import list_users

    database = _database(db)
    with database.session() as s:
        rows = list_users(s)
    if not rows:
        print("no users yet: `painrcm admin create-user --role admin ...` makes the first admin")
    for u in rows:
        state = "" if u.active else "  (deactivated)"
        print(f"{u.email:<32} {u.role:<10} {','.join(u.practices) or '-'}{state}")


@admin_app.command("refresh-services")
def refresh_services(db: DbOpt = None) -> None:
    """Rebuild the stored services and authorization uses of every claim (after new code tables change
    families or regions), then compute today's frequency-watch standings (so the day's first read of
    the watch need not; a nightly run keeps them ready)."""
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies
    from painrcm.scrub import Engine
    from painrcm.store import services, standings
    from painrcm.store.service_rows import refresh_all

    database = _database(db)
    engine = Engine(load_reference(), load_policies())
    with database.session() as s:
        written = refresh_all(s, engine.reference)
    with database.session() as s:
        standings.ensure(s, engine, services.today())
    print(f"stored services rebuilt: {written:,} rows; standings computed for {services.today().isoformat()}")


def count_users(url: str) -> int:
    from sqlalchemy import func, select

    from painrcm.store import models as m

    database = _database(url)
    try:
        with database.session() as s:
            return int(s.scalar(select(func.count()).select_from(m.User)) or 0)
    finally:
        database.engine.dispose()


FIRST_ADMIN = """This workspace has no users yet. Create the first admin (and practices), then sign in:
  painrcm admin create-practice --id P01 --name "Your practice"{db}
  painrcm admin create-user --role admin --email you@example.com --name "Your name"{db}
(`painrcm admin --help` lists the commands; the password is printed once.)"""


def first_admin_hint(url: str) -> str | None:
    """The message `painrcm serve` prints on a database without users."""
    if count_users(url):
        return None
    from painrcm.store.db import default_url

    return FIRST_ADMIN.format(db="" if url == default_url() else f" --db '{url}'")


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port (checked BEFORE seeding or migrating), or None."""
    if not 0 < port < 65536:
        return f"--port must be between 1 and 65535 (got {port})"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # what uvicorn sets too
        try:
            sock.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is taken by another program (another painrcm?); "
                    f"stop it or choose another port with --port"
                )
            return f"cannot listen on {host}:{port}: {e.strerror or e}"
    return None


def register(app: typer.Typer) -> None:
    app.add_typer(admin_app, name="admin")
