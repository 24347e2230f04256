"""`painrcm ack FILE...`: explain 999 and 277CA acknowledgements and match them to submitted files.

Exit codes: 0 everything acknowledged was accepted (or is pending); 1 something was rejected
(an interchange, a functional group, a transaction set or a claim); 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from painrcm.errors import InputError

ACK_SCHEMA = "painrcm.ack/1"


def _read_text(path: Path) -> str:
    from painrcm.cli_x12 import _read_text as read

    return read(path)


def load_submitted(paths: list[Path]) -> list[Any]:
    """Index submitted files: 837P (envelopes and CLM01) or encounter JSON (claim IDs only)."""
    from painrcm.inputs import iter_paths, read_encounters
    from painrcm.x12.submitted import SubmittedFile, index_submitted

    out: list[SubmittedFile] = []
    for p in paths:
        for f in iter_paths(p):
            text = _read_text(f)
            if text.lstrip("\ufeff \t\r\n").startswith("ISA"):
                out.extend(index_submitted(text, str(f)))
            else:
                encs, problems = read_encounters(f)
                if problems:
                    raise problems[0]
                out.append(
                    SubmittedFile(
                        file=str(f),
                        interchange_control="",
                        sender_id="",
                        receiver_id="",
                        claim_ids=[e.encounter_id for e in encs],
                    )
                )
    return out


def _matched(flag: bool | None, file: str | None, what: str) -> str:
    if flag is None:
        return ""
    return f"; matches submitted {what} in {file}" if flag else f"; NO MATCHING SUBMITTED {what.upper()}"


def print_report(rep: Any) -> None:
    from painrcm.ack.explain import status_sentences

    out: list[str] = [f"{rep.file}: {rep.outcome.upper()}"]
    for t in rep.interchanges:
        out.append(f"TA1 {t.explanation}{_matched(t.matched, t.submitted_file, 'interchange')}")
    for g in rep.groups:
        out.append(
            f"999 {g.explanation} {g.counts}{_matched(g.matched, g.submitted_file, 'functional group')}"
        )
        for s in g.sets:
            line = f"  {s.explanation}"
            if s.matched is not None:
                line += _matched(s.matched, s.submitted_file, "transaction set")
            out.append(line)
            if s.outcome == "rejected" and s.claims:
                out.append(f"    claims in this set (none reached the payer): {', '.join(s.claims)}")
            for e in s.errors:
                out.append(f"    {e.explanation}")
                if e.prevented_by:
                    out.append(
                        f"      painrcm edits that catch this before submission: {', '.join(e.prevented_by)}"
                    )
        out.append(f"  next: {g.next_action}")
    for ca in rep.claim_acks:
        head = f"277CA {ca.control_number}"
        if ca.payer_name:
            head += f" from {ca.payer_name}"
        out.append(f"{head}: {ca.outcome.upper()}")
        for lv in ca.levels:
            counts = ""
            if lv.accepted_count is not None or lv.rejected_count is not None:
                counts = f" ({lv.accepted_count or 0} accepted, {lv.rejected_count or 0} rejected)"
            label = "batch" if lv.level == "receiver" else "billing provider"
            ident = lv.trace if lv.level == "receiver" else lv.entity_id
            text = status_sentences(lv.statuses)
            if lv.outcome == "rejected":
                text += f" Every claim of this {label} is rejected with it, listed or not."
            out.append(f"  {label} {ident or ''}{counts}" + (f": {text}" if text else ""))
            if lv.submitted_file:
                out.append(f"    matches submitted file {lv.submitted_file}")
        for c in ca.claims:
            codes = ", ".join(
                s.category + (f"/{s.code}" if s.code else "") + (f"/{s.entity}" if s.entity else "")
                for s in c.statuses + [s for ln in c.lines for s in ln.statuses]
            )
            head = f"  Claim {c.patient_control_number}: {c.outcome.upper()} ({codes})"
            if c.payer_claim_number:
                head += f"; payer claim number {c.payer_claim_number}"
            head += _matched(c.matched, c.submitted_file, "claim")
            out.append(head)
            out.append(f"    {c.explanation}")
            for t in c.free_text:
                out.append(f"    payer's note: {t}")
            for n, ln in enumerate(c.lines, 1):
                if ln.outcome != "accepted":
                    code = (ln.procedure or "?") + ("-" + "-".join(ln.modifiers) if ln.modifiers else "")
                    out.append(f"    line {n} {code}: {ln.outcome} - " + status_sentences(ln.statuses))
            if c.prevented_by:
                out.append(
                    f"    painrcm edits that catch this before submission: {', '.join(c.prevented_by)}"
                )
            if c.outcome != "accepted":
                out.append(f"    next: {c.next_action}")
    for w in rep.warnings:
        out.append(f"note: {w}")
    print("\n".join(out))
    print()


def ack(
    files: Annotated[
        list[Path], typer.Argument(help="999, 277CA or TA1 acknowledgement files.", metavar="FILE...")
    ],
    claims: Annotated[
        list[Path] | None,
        typer.Option(
            "--claims",
            help="Submitted files to match: 837P files, encounter JSON, or folders of them (repeatable).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of a report.")
    ] = False,
) -> None:
    """Explain 999 and 277CA acknowledgements: what was rejected, why, and the edit that prevents it.
    Exit 1 when anything was rejected."""
    from painrcm.ack.explain import explain_ack_file
    from painrcm.x12.reader_ack import read_ack

    reports = []
    try:
        submitted = load_submitted(claims) if claims else None
        for f in files:
            reports.append(explain_ack_file(read_ack(_read_text(f), str(f)), submitted))
    except InputError as e:
        print(f"painrcm: {e.render()}", file=sys.stderr)
        raise typer.Exit(2) from None
    if as_json:
        doc = {"schema": ACK_SCHEMA, "files": [r.model_dump(mode="json") for r in reports]}
        print(json.dumps(doc, indent=2))
    else:
        for r in reports:
            print_report(r)
    raise typer.Exit(1 if any(r.outcome == "rejected" for r in reports) else 0)


def register(app: typer.Typer) -> None:
    app.command("ack")(ack)
