"""`painrcm rescrub`: re-scrub the workspace's open claims (all, or those a changed code, NCCI pair
or payer touches) on local worker processes or on RQ workers (docs/rescrub.md)."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer


def _pair(text: str) -> tuple[str, str]:
    a, sep, b = text.replace("/", ",").partition(",")
    if not sep or not a.strip() or not b.strip():
        typer.echo(
            f"painrcm rescrub: --pair {text!r}: expected two codes as COLUMN1,COLUMN2 (e.g. 64483,62323)",
            err=True,
        )
        raise typer.Exit(2)
    return a.strip().upper(), b.strip().upper()


def register(app: typer.Typer) -> None:
    """Add `rescrub` to the painrcm command line."""

    @app.command("rescrub")
    def rescrub_command(
        db: Annotated[
            str | None,
            typer.Option(
                "--db", help="Database URL (default: PAINRCM_DATABASE_URL, else SQLite in PAINRCM_HOME)."
            ),
        ] = None,
        code: Annotated[
            list[str] | None,
            typer.Option("--code", help="Only claims with a line of this code (repeatable)."),
        ] = None,
        pair: Annotated[
            list[str] | None,
            typer.Option(
                "--pair", help="Only claims with both codes of this NCCI pair, COLUMN1,COLUMN2 (repeatable)."
            ),
        ] = None,
        payer: Annotated[
            list[str] | None, typer.Option("--payer", help="Only claims of this payer ID (repeatable).")
        ] = None,
        practice: Annotated[
            str | None, typer.Option("--practice", help="Only this practice's claims.")
        ] = None,
        workers: Annotated[
            int, typer.Option("--workers", min=1, help="Local worker processes (without PAINRCM_REDIS_URL).")
        ] = os.cpu_count() or 1,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    ) -> None:
        """Re-scrub every open claim (or those a changed code, pair or payer touches) and report per claim
        the errors it gained and lost. Fans out over RQ workers when PAINRCM_REDIS_URL is set."""
        from painrcm.store.db import default_url
        from painrcm.store.rescrub import Selection, rescrub

        sel = Selection(
            codes=tuple(c.strip().upper() for c in code or ()),
            pairs=tuple(_pair(p) for p in pair or ()),
            payers=tuple(p.strip() for p in payer or ()),
            practice=practice,
        )
        report = rescrub(db or default_url(), sel, workers=workers)
        if as_json:
            typer.echo(json.dumps(report.as_dict(), indent=2))
            return
        where = "RQ workers" if report.runner == "rq" else f"{report.workers} local process(es)"
        typer.echo(
            f"re-scrubbed {report.claims:,} open claims in {report.partitions} partitions on {where}: "
            f"{report.seconds:.1f} s, {report.claims_per_second:,.0f} claims/s "
            f"({report.cpu_seconds:.1f} CPU-s in the workers); {len(report.changes)} changed"
        )
        for c in report.changes:
            parts = [f"{c.before or 'unscrubbed'} -> {c.after}"]
            if c.new_errors:
                parts.append("new: " + ", ".join(c.new_errors))
            if c.resolved_errors:
                parts.append("resolved: " + ", ".join(c.resolved_errors))
            typer.echo(f"  {c.practice_id} {c.claim_id}: " + "; ".join(parts))
