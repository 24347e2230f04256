"""`painrcm limits`: where one patient stands against every frequency limit of their payer."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from painrcm.errors import InputError


def register(app: typer.Typer) -> None:
    @app.command()
    def limits(
        history: Annotated[
            list[Path], typer.Option("--history", help="Earlier services (files or folders).")
        ],
        member_id: Annotated[str | None, typer.Option("--member-id", help="Payer member ID.")] = None,
        dob: Annotated[
            str | None, typer.Option("--dob", help="Date of birth, YYYY-MM-DD (with --member-id).")
        ] = None,
        chart_id: Annotated[str | None, typer.Option("--chart-id", help="The practice's patient ID.")] = None,
        on: Annotated[str | None, typer.Option("--date", help="The date to check (default: today).")] = None,
        auths: Annotated[Path | None, typer.Option("--auths", help="Authorization log, CSV or JSON.")] = None,
        payer_id: Annotated[
            str | None, typer.Option("--payer-id", help="Payer ID (default: latest record's).")
        ] = None,
        plan: Annotated[
            str | None, typer.Option("--plan", help="medicare, medicare_advantage, medicaid or commercial.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
        payers: Annotated[
            list[Path] | None, typer.Option("--payers", help="Folder of payer policy files.")
        ] = None,
    ) -> None:
        """Sessions used and left per frequency limit, next payable dates and authorizations on file."""
        from rich.console import Console
        from rich.table import Table

        from painrcm.cli import engine, fail
        from painrcm.history.auths import load_auth_log
        from painrcm.history.files import load_history
        from painrcm.history.limits import authorizations, standing
        from painrcm.model import Patient, Payer

        try:
            when = _day(on, "--date") if on else date.today()
            h = load_history(history)
            if chart_id:
                patient = h.patient_by_chart(chart_id)
                if patient is None:
                    raise InputError(
                        "--chart-id", None, f"a chart ID present in the history (no {chart_id!r})"
                    )
            elif member_id and dob:
                patient = Patient(member_id=member_id, dob=_day(dob, "--dob"))
            else:
                raise InputError(None, "options", "--member-id with --dob, or --chart-id")
            payer = h.latest_payer(patient)
            if payer_id or plan:
                payer = Payer(
                    id=payer_id or (payer.id if payer else "UNKNOWN"),
                    plan=plan or (payer.plan if payer else "commercial"),
                )  # type: ignore[arg-type]
            if payer is None:
                raise InputError(
                    None, "options", "--payer-id and --plan: the history holds no record of this patient"
                )
            eng = engine(payers)
            policy = eng.policies.for_payer(payer)
            rows = standing(h, patient, policy, when)
            auth_rows = authorizations(h, patient, payer.id, load_auth_log(auths)) if auths else []
        except InputError as e:
            raise fail(e) from None

        if as_json:
            doc = {
                "schema": "painrcm.limits/1",
                "date": when.isoformat(),
                "payer": payer.id,
                "policy": policy.id,
                "limits": [
                    {
                        "limit": r.limit_id,
                        "edit": r.edit,
                        "region": r.region,
                        "max": r.max,
                        "window_months": r.window_months,
                        "used": r.used,
                        "left": r.left,
                        "session_dates": [d.isoformat() for d in r.session_dates],
                        "unknown_purpose_dates": [d.isoformat() for d in r.unknown_purpose_dates],
                        "next_payable": r.next_payable(when).isoformat(),
                    }
                    for r in rows
                ],
                "authorizations": [
                    {
                        "auth_number": a.auth.auth_number,
                        "status": a.auth.status,
                        "codes": list(a.auth.codes),
                        "start_date": a.auth.start_date.isoformat(),
                        "end_date": a.auth.end_date.isoformat(),
                        "sessions": a.auth.sessions,
                        "used": len(a.used_dates),
                        "left": a.left,
                    }
                    for a in auth_rows
                ],
            }
            print(json.dumps(doc, indent=2))
            return
        from painrcm.labels import limit_label, region_label

        con = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        con.print(f"Limits on {when.isoformat()} under policy {policy.id} (payer {payer.id})")
        t = Table(show_edge=False)
        for col in ("limit", "region", "used", "max", "left", "next payable", "sessions in window"):
            t.add_column(col)
        for r in rows:
            note = ", ".join(d.isoformat() for d in r.session_dates)
            if r.unknown_purpose_dates:
                note += f" (+{len(r.unknown_purpose_dates)} of unknown purpose)"
            t.add_row(
                f"{limit_label(r.limit_id)} ({r.edit})",
                region_label(r.region),
                str(r.used),
                str(r.max),
                str(r.left),
                r.next_payable(when).isoformat(),
                note,
            )
        con.print(t)
        if auths:
            a_t = Table(title="Authorizations on file", show_edge=False, title_justify="left")
            for col in ("number", "status", "codes", "window", "sessions", "used", "left"):
                a_t.add_column(col)
            for a in auth_rows:
                a_t.add_row(
                    a.auth.auth_number,
                    a.auth.status,
                    " ".join(a.auth.codes),
                    f"{a.auth.start_date} to {a.auth.end_date}",
                    str(a.auth.sessions or "no cap"),
                    str(len(a.used_dates)),
                    "-" if a.left is None else str(a.left),
                )
            con.print(a_t)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(None, option, f"an ISO date YYYY-MM-DD (got {text!r})") from None
