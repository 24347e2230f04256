"""`painrcm serve` (the workspace: web app and API) and the workspace half of `painrcm demo`
(a fresh embedded database with synthetic demo data, served)."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

DEMO_DB_NAME = "demo.db"
DEMO_STEPS = 7  # the seeder's named steps (store/demo_seed.py), for the progress bar


def register(app: typer.Typer) -> None:
    """Add `serve` to the painrcm command line."""

    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
        db: Annotated[
            str | None,
            typer.Option(
                "--db", help="Database URL (default: PAINRCM_DATABASE_URL, else SQLite in PAINRCM_HOME)."
            ),
        ] = None,
        reload: Annotated[
            bool, typer.Option("--reload", help="Restart when the code changes (development).")
        ] = False,
        trusted_proxies: Annotated[
            str | None,
            typer.Option(
                "--trusted-proxies",
                help="Comma-separated addresses of reverse proxies whose X-Forwarded-For/-Proto are "
                "believed (default: PAINRCM_TRUSTED_PROXIES, else none).",
            ),
        ] = None,
    ) -> None:
        """Start the workspace: the web app and the API (OpenAPI at /api/docs)."""
        from painrcm.cli_admin import first_admin_hint, port_problem
        from painrcm.store.db import default_url

        problem = port_problem(host, port)
        if problem:
            print(f"painrcm: {problem}", file=sys.stderr)
            raise typer.Exit(2)
        if trusted_proxies is not None:
            os.environ["PAINRCM_TRUSTED_PROXIES"] = trusted_proxies
        url = db or default_url()
        hint = first_admin_hint(url)
        if hint:
            print(hint, flush=True)
        run_server(url, host=host, port=port, reload=reload)


def proxy_settings() -> dict[str, object]:
    """uvicorn's proxy options: X-Forwarded-* are believed only from the configured proxies (none by
    default; uvicorn's own default believes any local peer, so a local client could pick its address)."""
    trusted = [p.strip() for p in os.environ.get("PAINRCM_TRUSTED_PROXIES", "").split(",") if p.strip()]
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


def run_server(
    url: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
    database: object | None = None,
) -> None:
    """Serve the app on `url` (migrated on open). With `reload`, uvicorn re-imports the factory."""
    import uvicorn

    print(
        f"painrcm workspace on http://{host}:{port}/  (API docs: http://{host}:{port}/api/docs)", flush=True
    )
    if reload:
        os.environ["PAINRCM_DATABASE_URL"] = url
        uvicorn.run(
            "painrcm.web.app:create_app", factory=True, host=host, port=port, reload=True, **proxy_settings()
        )
        return
    from painrcm.web.app import create_app

    app = create_app(db=database) if database is not None else create_app(url)  # type: ignore[arg-type]
    uvicorn.run(app, host=host, port=port, **proxy_settings())  # type: ignore[arg-type]


def demo_db_path() -> Path:
    from painrcm.codes.loader import painrcm_home

    return painrcm_home() / DEMO_DB_NAME


def demo_command(
    report: bool = False,
    host: str = "127.0.0.1",
    port: int = 8000,
    db_path: Path | None = None,
    serve: bool = True,
    *,
    as_json: bool = False,
    today: date | None = None,
    seed: int = 7,
) -> None:
    """`painrcm demo`. With `report`: print the scrub report of the bundled demo claims (as before).
    Otherwise: recreate the demo database (``$PAINRCM_HOME/demo.db``), seed it, print the demo
    credentials and, with `serve`, start the workspace on it."""
    if report:
        print_demo_report(as_json)
        return
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies
    from painrcm.scrub import Engine
    from painrcm.store.db import Database
    from painrcm.store.demo_seed import seed_demo

    if serve:  # before seeding: never print passwords for a server that is not the one answering
        from painrcm.cli_admin import port_problem

        problem = port_problem(host, port)
        if problem:
            print(f"painrcm: {problem}; nothing was seeded", file=sys.stderr)
            raise typer.Exit(2)
    path = (db_path or demo_db_path()).resolve()
    fresh_file(path)
    url = f"sqlite:///{path}"
    database = Database(url)
    engine = Engine(load_reference(), load_policies())
    from painrcm.progress import steps

    with steps(DEMO_STEPS) as step:
        creds = seed_demo(database, engine, today=today or date.today(), seed=seed, step=step)
    print_credentials(path, creds, host, port)
    if serve:
        run_server(url, host=host, port=port, database=database)
    else:
        database.engine.dispose()


def fresh_file(path: Path) -> None:
    """Delete an earlier demo database (and SQLite's WAL files) so each run starts fresh."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


def print_credentials(path: Path, creds: object, host: str, port: int) -> None:
    from painrcm.store.demo_seed import DemoCredentials

    assert isinstance(creds, DemoCredentials)
    c = creds.counts
    print(f"painrcm demo: synthetic workspace in {path}")
    print(
        f"  {c.get('practices', 0)} practices, {c.get('claims', 0)} claims, {c.get('history', 0)} earlier "
        f"services, {c.get('authorizations', 0)} authorizations, {c.get('remittances', 0)} remittances "
        f"({c.get('denied_lines', 0)} denied lines). Every patient is invented."
    )
    print("Demo users (passwords are random, made for this database, shown only now):")
    print(f"  {'role':<10} {'email':<24} {'password':<24} practices")
    for line in creds.lines():
        print(line)
    print(f"Open http://{host}:{port}/ and sign in. `painrcm demo` again starts over with a new database.")
    sys.stdout.flush()


def print_demo_report(as_json: bool = False) -> None:
    """The bundled demo claims coded and scrubbed against their history and authorization log."""
    from painrcm.cli import _console, engine, fail
    from painrcm.demo import demo_paths
    from painrcm.errors import InputError
    from painrcm.history.auths import load_auth_log
    from painrcm.history.files import load_history
    from painrcm.inputs import read_encounters
    from painrcm.model import SCRUB_SCHEMA
    from painrcm.report import print_scrub
    from painrcm.scrub import scrub_encounter

    paths = demo_paths()
    try:
        eng = engine(None)
        hist = load_history([paths.history])
        log = load_auth_log(paths.auths)
        results = []
        for p in paths.claims:
            claims, problems = read_encounters(p)
            if problems:
                raise problems[0]
            results += [scrub_encounter(enc, eng, history=hist, auths=log, fix=True) for enc in claims]
    except InputError as e:
        raise fail(e) from None
    if as_json:
        print(json.dumps({"schema": SCRUB_SCHEMA, "claims": [r.contract_dict() for r in results]}, indent=2))
        return
    print_scrub(_console(), results, show_fixed=True)
