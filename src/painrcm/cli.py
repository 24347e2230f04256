"""The `painrcm` command line: thin, no rules. It reads files, calls the engine, prints results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from painrcm import __version__
from painrcm.errors import InputError

# Start-up (issue 13): each command imports what it uses when it runs, so `painrcm --help` or
# `painrcm explain` never pays for pydantic models, the coder, rich tables or the workspace.
if TYPE_CHECKING:
    from rich.console import Console

    from painrcm.model import ClaimResult, Encounter
    from painrcm.scrub import Engine

app = typer.Typer(
    name="painrcm",
    help="Code, scrub and explain interventional pain-management claims.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

PayersOpt = Annotated[
    list[Path] | None,
    typer.Option("--payers", help="Folder of payer policy files (repeatable); see docs/payers.md."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a report.")]


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, highlight=False, width=None if stream.isatty() else 160)


def fail(err: InputError, file: str | None = None) -> typer.Exit:
    if err.file is None and file is not None:
        err.file = file
    print(f"painrcm: {err.render()}", file=sys.stderr)
    return typer.Exit(2)


def engine(payers: list[Path] | None) -> Engine:
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies
    from painrcm.scrub import Engine

    return Engine(load_reference(), load_policies(payers or []))


def _read_one(path: Path) -> list[Encounter]:
    from painrcm.inputs import read_encounters

    claims, problems = read_encounters(path)
    if problems:
        raise problems[0]
    return claims


@app.command()
def code(
    encounter: Annotated[Path, typer.Argument(help="Encounter JSON (painrcm.encounter/1).")],
    as_json: JsonOpt = False,
    payers: PayersOpt = None,
) -> None:
    """Turn a documented encounter into claim lines under its payer's policy."""
    import json

    from painrcm.coder import code_encounter
    from painrcm.model import CLAIM_SCHEMA
    from painrcm.report import print_coded

    try:
        eng = engine(payers)
        encs = _read_one(encounter)
        results = []
        for enc in encs:
            lines = code_encounter(enc, eng.reference, eng.policy_for(enc))
            results.append((enc, lines))
    except InputError as e:
        raise fail(e, str(encounter)) from None
    if as_json:
        docs = [
            {
                "schema": CLAIM_SCHEMA,
                "claim_id": enc.encounter_id,
                "lines": [ln.contract_dict(i) for i, ln in enumerate(lines, 1)],
            }
            for enc, lines in results
        ]
        print(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2))
        return
    print_coded(_console(), results, eng)
    _print_data_age(eng, [enc for enc, _ in results])


@app.command()
def scrub(
    inputs: Annotated[list[Path], typer.Argument(help="Encounter JSON or X12 837P files.")],
    history: Annotated[
        list[Path] | None,
        typer.Option("--history", help="Earlier services: encounter JSON files, folders or 837P files."),
    ] = None,
    auths: Annotated[Path | None, typer.Option("--auths", help="Authorization log, CSV or JSON.")] = None,
    as_json: JsonOpt = False,
    fix: Annotated[
        bool, typer.Option("--fix", help="Apply every safe fix and print the corrected lines.")
    ] = False,
    x12_out: Annotated[
        Path | None, typer.Option("--x12", help="With --fix: write the corrected claims as an 837P file.")
    ] = None,
    payers: PayersOpt = None,
) -> None:
    """Check claims against every edit in the catalogue. Exit 1 when any error is found."""
    import json

    from painrcm.inputs import read_encounters_noted
    from painrcm.model import SCRUB_SCHEMA
    from painrcm.report import print_scrub
    from painrcm.scrub import scrub_encounter

    problems: list[InputError] = []
    notes: list[InputError] = []
    srcs: list[Any] = []  # where each claim was read from in an 837P (written back losslessly)
    try:
        eng = engine(payers)
        hist = None
        if history is not None:
            from painrcm.history.files import load_history

            hist = load_history(history)
            # the loaded history lives until exit: keep the collector from re-walking it (GC pauses
            # of seconds per claim were measured with a million-line history)
            from painrcm.gcpause import keep_for_good

            keep_for_good()
        log = None
        if auths is not None:
            from painrcm.history.auths import load_auth_log

            log = load_auth_log(auths)
        results: list[ClaimResult] = []
        encs: list[Encounter] = []
        for path in inputs:
            claims, bad, noted, sources = read_encounters_noted(path)
            problems += bad
            from painrcm.progress import track

            notes += noted
            _mark_repeated_ids(claims, sources)
            for enc, src in track(list(zip(claims, sources, strict=True)), f"scrubbing {path.name}"):
                try:
                    results.append(scrub_encounter(enc, eng, history=hist, auths=log, fix=fix))
                    encs.append(enc)
                    srcs.append(src)
                except InputError as e:
                    if e.file is None:
                        e.file = str(path)
                    if e.place and e.place.startswith("$") and len(claims) > 1:
                        e.place = f"claim {enc.encounter_id}: {e.place}"
                    problems.append(e)
    except InputError as e:
        raise fail(e) from None

    if fix and x12_out is not None:
        _write_fixed_837(x12_out, encs, results, srcs)
    if as_json:
        doc: dict[str, Any] = {"schema": SCRUB_SCHEMA, "claims": [r.contract_dict() for r in results]}
        if problems:
            doc["input_errors"] = [p.render() for p in problems]
        if notes:
            doc["warnings"] = [w.render() for w in notes]
        doc["editions"] = _editions_entry(eng, encs)
        print(json.dumps(doc, indent=2))
    else:
        print_scrub(_console(), results, show_fixed=fix)
        _print_data_age(eng, encs)
    for w in notes:
        print(f"painrcm: note: {w.render()}", file=sys.stderr)
    for p in problems:
        print(f"painrcm: {p.render()}", file=sys.stderr)
    if problems:
        raise typer.Exit(2)
    raise typer.Exit(1 if any(r.status == "error" for r in results) else 0)


def _service_dates(encs: list[Encounter]) -> list[Any]:
    return [enc.date_of_service for enc in encs] + [
        ln.date_of_service for enc in encs for ln in enc.lines or () if ln.date_of_service
    ]


def _editions_entry(eng: Engine, encs: list[Encounter]) -> dict[str, Any]:
    from painrcm.codes.freshness import editions_entry

    return editions_entry(eng.reference, _service_dates(encs))


def _print_data_age(eng: Engine, encs: list[Encounter]) -> None:
    """Once per run: the loaded CMS tables are older than the claims (a notice, not a finding)."""
    from painrcm.codes.freshness import age_notices, notice_text

    notices = age_notices(eng.reference, _service_dates(encs))
    if notices:
        _console().print(f"notice: {notice_text(notices)}", style="yellow", markup=False)


def _mark_repeated_ids(claims: list[Encounter], sources: list[Any]) -> None:
    """CLM007 (painrcm.claim_ids, the workspace's rule too): a claim ID repeated under the same billing
    provider in one file. Every claim is scrubbed; each repeat carries the places of the others."""
    from painrcm.claim_ids import repeats

    places = [
        f"segment {src.claim[0] + 1} (CLM)" if src is not None else (f"$[{k}]" if len(claims) > 1 else "$")
        for k, src in enumerate(sources)
    ]
    entries = [(c.practice.npi, c.encounter_id, p) for c, p in zip(claims, places, strict=True)]
    for k, others in repeats(entries).items():
        claims[k] = claims[k].model_copy(update={"claim_id_also_at": others})


def _write_fixed_837(
    out: Path, encs: list[Encounter], results: list[ClaimResult], sources: list[Any] | None = None
) -> None:
    from painrcm.x12.writer837 import write_837

    fixed = []
    for enc, res in zip(encs, results, strict=True):
        lines = res.fixed_lines if res.fixed_lines is not None else res.lines
        fixed.append(enc.model_copy(update={"lines": lines}))
    try:
        text = write_837(fixed, sources=sources)
    except InputError as e:
        raise fail(e) from None
    out.write_text(text, encoding="utf-8")


@app.command("edits")
def list_edits(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the docs page of every edit.")] = False,
) -> None:
    """List the edit catalogue."""
    from painrcm.report import edits_markdown, print_edit_list

    if markdown:
        print(edits_markdown(), end="")
        return
    print_edit_list(_console())


@app.command()
def explain(edit_id: Annotated[str, typer.Argument(help="An edit ID, e.g. BUN001.")]) -> None:
    """Explain one edit: what it checks, why payers deny it, a failing and a fixed example."""
    from painrcm.edits import get_edit
    from painrcm.report import explain_text

    edit = get_edit(edit_id)
    if edit is None:
        print(f"painrcm: unknown edit {edit_id!r}; `painrcm edits` lists them", file=sys.stderr)
        raise typer.Exit(2)
    # plain text, never re-wrapped (billers copy the example claims out of it): no console needed
    sys.stdout.write(explain_text(edit))


@app.command()
def demo(
    report: Annotated[
        bool, typer.Option("--report", help="Only print the scrub report of the bundled demo claims.")
    ] = False,
    as_json: JsonOpt = False,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    db_path: Annotated[
        Path | None, typer.Option("--db-path", help="SQLite file (default $PAINRCM_HOME/demo.db).")
    ] = None,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Create the database and print the credentials, then stop.")
    ] = False,
) -> None:
    """Create a synthetic demo workspace (three practices, a year of history, denials) and serve it."""
    from painrcm.cli_serve import demo_command

    demo_command(
        report=report or as_json, host=host, port=port, db_path=db_path, serve=not no_serve, as_json=as_json
    )


def _register_plugins() -> None:
    """Commands that live beside the core CLI: data import, X12, limits, the workspace server."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("painrcm.cli_data") is not None:
        from painrcm import cli_data

        app.add_typer(cli_data.data_app, name="data")
    for name in (
        "painrcm.cli_x12",
        "painrcm.cli_limits",
        "painrcm.cli_serve",
        "painrcm.cli_ack",
        "painrcm.cli_auth",  # before cli_auth278, which joins its `auth` group
        "painrcm.cli_auth278",
        "painrcm.cli_admin",
        "painrcm.cli_rescrub",
    ):
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(app)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        print(f"painrcm {__version__}")
        raise typer.Exit(0)


_register_plugins()


def main() -> None:
    try:
        app()
    except InputError as e:  # a last guard: bad input never shows a traceback
        print(f"painrcm: {e.render()}", file=sys.stderr)
        sys.exit(2)
    except (
        OSError
    ) as e:  # a named file that cannot be read or written (a folder, no permission, no such folder)
        print(f"painrcm: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # a database that cannot be opened or is not one (sqlalchemy is imported lazily)
        if not type(e).__module__.startswith("sqlalchemy"):
            raise
        print(f"painrcm: cannot use the database: {str(e).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)
