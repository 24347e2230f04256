"""`painrcm auth ...`: prior authorization from the command line.

`painrcm auth request PLANNED.json` codes a planned service and assembles the evidence its payer
asks for (src/painrcm/authreq); what is missing is listed as missing, what could not be checked as
not known. Exit 0 when the request is complete, 1 when something is missing, 2 on bad input.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from painrcm.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

    from painrcm.authreq import AuthRequestPacket

auth_app = typer.Typer(
    help="Prior authorization: build a request from the note and history, read payers' answers.",
    no_args_is_help=True,
)

_MARK = {"present": "[green]ok[/]", "warning": "[yellow]check[/]", "missing": "[red]missing[/]",
         "unknown": "[yellow]not known[/]"}  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(auth_app, name="auth")


@auth_app.command("request")
def request(
    planned: Annotated[Path, typer.Argument(help="The planned encounter (JSON, with or without lines).")],
    history: Annotated[
        list[Path] | None,
        typer.Option("--history", help="Earlier services: encounter JSON files, folders or 837P files."),
    ] = None,
    on: Annotated[
        str | None, typer.Option("--date", help="The day the request is sent (default: today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    x278: Annotated[
        Path | None, typer.Option("--x278", help="Also write the request as an X12 278 file.")
    ] = None,
    urgent: Annotated[bool, typer.Option("--urgent", help="Ask for an expedited review.")] = False,
    payers: Annotated[
        list[Path] | None, typer.Option("--payers", help="Folder of payer policy files (repeatable).")
    ] = None,
) -> None:
    """Build a prior-authorization request: the coded service, the evidence the payer asks for, gaps."""
    from painrcm.authreq import build_request
    from painrcm.cli import engine, fail
    from painrcm.inputs import read_encounters

    try:
        sent = _day(on, "--date") if on else date.today()
        eng = engine(payers)
        hist = None
        if history is not None:
            from painrcm.history.files import load_history

            hist = load_history(history)
        claims, problems = read_encounters(planned)
        if problems:
            raise problems[0]
        packets = [build_request(enc, eng, history=hist, requested_on=sent) for enc in claims]
        if x278 is not None:
            _write_278(x278, packets, urgent)
    except InputError as e:
        raise fail(e, str(planned)) from None
    if as_json:
        docs = [p.as_dict() for p in packets]
        print(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2))
    else:
        from painrcm.cli import _console

        con = _console()
        for p in packets:
            print_request(con, p)
    raise typer.Exit(0 if all(p.ready for p in packets) else 1)


def _write_278(out: Path, packets: list[AuthRequestPacket], urgent: bool) -> None:
    from pydantic import ValidationError

    from painrcm.authreq import to_x278
    from painrcm.x12.x278 import write_278_request

    reqs = []
    for p in packets:
        try:
            reqs.append(to_x278(p, urgent=urgent))
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first.get("loc", ()))
            raise InputError(
                str(out),
                f"request {p.encounter.encounter_id}",
                f"what a 278 needs: {where} ({first.get('msg')})",
            ) from None
    out.write_text(write_278_request(reqs), encoding="utf-8")


def print_request(con: Console, p: AuthRequestPacket) -> None:
    from rich.table import Table

    enc = p.encounter
    con.print(
        f"[bold]Authorization request {enc.encounter_id}[/] for {enc.date_of_service.isoformat()}, "
        f"payer {enc.payer.id} ({p.payer_policy} policy)"
    )
    t = Table(show_edge=False, pad_edge=False)
    for col in ("code", "modifiers", "units", "needs authorization"):
        t.add_column(col)
    for s in p.services:
        units = "" if s.units is None else f"{s.units:g}"
        t.add_row(s.code, " ".join(s.modifiers), units, s.rule or "no")
    con.print(t)
    if not p.needs_authorization:
        con.print("The payer's policy asks for no authorization for these codes.")
    for e in p.evidence:
        con.print(f"  {_MARK[e.status]}  {e.label}")
        for fact in e.facts:
            con.print(f"         {fact}", markup=False)
        for f in e.findings:
            con.print(f"         {f.edit}: {f.message}", markup=False)
        for n in e.not_checked:
            con.print(f"         {n.edit} not checked: {n.reason}", markup=False)
    for f in p.other_problems:
        con.print(f"  [red]would deny[/]  {f.edit}: {f.message}")
    con.print(
        f"Answer due by {p.response_due.isoformat()} (expedited {p.expedited_response_due.isoformat()}). "
        + ("[green]Complete: ready to send.[/]" if p.ready else f"[red]{len(p.gaps())} gap(s) to close.[/]")
    )
    con.print()


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        print(f"painrcm: {where}: expected a date YYYY-MM-DD, got {text!r}", file=sys.stderr)
        raise typer.Exit(2) from None
