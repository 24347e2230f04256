"""`painrcm auth import-278 FILE`: a payer's 278 response as authorization-log rows (CONTRACTS.md section 3).

Prints the rows as CSV with the log's header (or ``--json``: the JSON list form of the log), or writes
them with ``--out``; a one-line summary per decision goes to stderr. Exit 0 when read (whatever the
payer decided), 2 for bad input (a broken file, a 278 request instead of a response, another
transaction).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from painrcm.errors import InputError

auth_app = typer.Typer(help="Prior authorizations: X12 278 requests and responses.", no_args_is_help=True)


def _rows_csv(rows: list[dict[str, object]]) -> str:
    from painrcm.history.auths import COLUMNS

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


@auth_app.command("import-278")
def import_278(
    file: Annotated[Path, typer.Argument(help="An X12 278 response file (005010X217).", metavar="FILE.278")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the authorization log rows to this file.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON list (the log's JSON form) instead of CSV.")
    ] = False,
) -> None:
    """Read a payer's 278 response into authorization-log rows (certified, pended, denied, modified)."""
    from painrcm.cli_x12 import _read_text
    from painrcm.history.auths import AuthLog
    from painrcm.x12.x278 import read_278

    try:
        read = read_278(_read_text(file), str(file))
        if not read.responses:
            raise InputError(
                str(file), None, "a 278 response (BHT02 11); this file holds only requests (BHT02 13)"
            )
        rows: list[dict[str, object]] = []
        for resp in read.responses:
            rows += resp.authorizations()
        AuthLog.from_rows(rows, str(file))  # every row must load as the log loads it
    except InputError as e:
        print(f"painrcm: {e.render()}", file=sys.stderr)
        raise typer.Exit(2) from None
    for resp in read.responses:
        for d in resp.decisions:
            what = d.decision.replace("_", " ")
            num = f" {d.certification_number}" if d.certification_number else ""
            span = f" {d.start_date} to {d.end_date}" if d.start_date else ""
            print(f"{file}: {what}{num}: {' '.join(d.codes) or 'no codes'}{span}", file=sys.stderr)
        for r in resp.rejections:
            print(f"{file}: request refused before review (reason {r})", file=sys.stderr)
    for w in read.warnings:
        print(f"note: {w.render()}", file=sys.stderr)
    text = json.dumps(rows, indent=2) + "\n" if as_json else _rows_csv(rows)
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"painrcm: {out}: cannot write the file ({e.strerror})", file=sys.stderr)
        raise typer.Exit(2) from None
    print(f"wrote {len(rows)} authorization(s) to {out}", file=sys.stderr)


@auth_app.command("write-278")
def write_278(
    request: Annotated[
        Path,
        typer.Argument(help="An authorization request as JSON (AuthRequest fields).", metavar="REQUEST.json"),
    ],
    out: Annotated[Path, typer.Option("--out", help="The 278 request file to write.", metavar="FILE.278")],
    sender_id: Annotated[str, typer.Option("--sender-id", help="ISA06/GS02 submitter ID.")] = "PAINRCM",
    receiver_id: Annotated[str, typer.Option("--receiver-id", help="ISA08/GS03 receiver ID.")] = "RECEIVER",
    control_number: Annotated[
        int, typer.Option("--control-number", help="ISA13/GS06 control number.", min=1, max=999_999_999)
    ] = 1,
) -> None:
    """Write an authorization request (JSON, see docs/x278.md) as an X12 278 request file."""
    from pydantic import ValidationError

    from painrcm.auth_request_model import AuthRequest
    from painrcm.cli_x12 import _read_text
    from painrcm.inputs import parse_json
    from painrcm.x12.x278 import write_278_request

    try:
        text = _read_text(request)
        data = parse_json(text, str(request))
        items = data if isinstance(data, list) else [data]
        reqs = []
        for n, item in enumerate(items):
            try:
                reqs.append(AuthRequest.model_validate(item))
            except ValidationError as e:
                first = e.errors()[0]
                base = f"$[{n}]" if isinstance(data, list) else "$"
                path = base + "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in first["loc"])
                raise InputError(str(request), path, first["msg"]) from None
        x12 = write_278_request(
            reqs, sender_id=sender_id, receiver_id=receiver_id, control_number=control_number
        )
        out.write_text(x12, encoding="utf-8")
    except InputError as e:
        if e.file is None:
            e.file = str(request)
        print(f"painrcm: {e.render()}", file=sys.stderr)
        raise typer.Exit(2) from None
    except OSError as e:
        print(f"painrcm: {out}: cannot write the file ({e.strerror})", file=sys.stderr)
        raise typer.Exit(2) from None
    print(f"wrote {len(reqs)} request(s) to {out}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Add the `auth` group, or join an `auth` group another module registered first."""
    for g in app.registered_groups:
        if g.name == "auth" and g.typer_instance is not None:
            g.typer_instance.command("import-278")(import_278)
            g.typer_instance.command("write-278")(write_278)
            return
    app.add_typer(auth_app, name="auth")
