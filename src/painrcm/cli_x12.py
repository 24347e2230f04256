"""X12 commands: `painrcm era` (explain an 835) and `painrcm export837` (encounters -> 837P).

`register(app)` adds them to the main typer app (called from painrcm.cli).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from painrcm.errors import InputError

if TYPE_CHECKING:  # imported by the commands that use them (start-up time, issue 13)
    from rich.console import Console

    from painrcm.model import Encounter

ERA_SCHEMA = "painrcm.era/1"


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _fail(err: InputError, file: str | None = None) -> typer.Exit:
    if err.file is None and file is not None:
        err.file = file
    _console(stderr=True).print(f"painrcm: {err.render()}", markup=False)
    return typer.Exit(2)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), None, "file not found") from None
    except IsADirectoryError:
        raise InputError(str(path), None, "expected a file, found a folder") from None
    except OSError as e:
        raise InputError(str(path), None, f"cannot read the file ({e.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(str(path), f"byte {e.start}", "ASCII/UTF-8 text") from None


def _read_claims(
    paths: list[Path], notes: list[InputError] | None = None, sources: list[Any] | None = None
) -> tuple[list[Encounter], list[InputError]]:
    """Submitted claims: 837P files, encounter JSON files, or folders of them. The readers' warnings
    are added to ``notes``."""
    from painrcm.inputs import iter_paths, read_encounters_noted

    encs: list[Encounter] = []
    problems: list[InputError] = []
    for p in paths:
        for f in iter_paths(p):
            got, probs, noted, srcs = read_encounters_noted(f)
            encs.extend(got)
            if sources is not None:
                sources.extend(srcs)
            problems.extend(probs)
            if notes is not None:
                notes.extend(noted)
    return encs, problems


def _print_notes(notes: list[InputError]) -> None:
    for w in notes:
        _console(stderr=True).print(f"painrcm: note: {w.render()}", markup=False)


class _FeeScheduleIndicators(Mapping[str, tuple[str, str, str]]):
    """(multiple procedure, bilateral, global days) of every code in the loaded fee schedule (the full
    packaged RVU file or the imported one), looked up per code."""

    def __init__(self, mpfs: Any) -> None:
        self._mpfs = mpfs

    def __getitem__(self, code: str) -> tuple[str, str, str]:
        row = self._mpfs.get(code)
        if row is None:
            raise KeyError(code)
        bilateral = "" if row.bilateral is None else str(row.bilateral)
        return (row.mult_proc, bilateral, row.global_days)

    def __iter__(self) -> Iterator[str]:
        return iter(self._mpfs.rows)

    def __len__(self) -> int:
        return len(self._mpfs.rows)


def _indicators() -> Mapping[str, tuple[str, str, str]]:
    from painrcm.codes.loader import load_reference

    return _FeeScheduleIndicators(load_reference().mpfs)


def _money(x: Decimal | float | None) -> str:
    return "" if x is None else f"{x:,.2f}"


def _print_report(
    console: Console, file: str, reports: list[Any], warnings: list[InputError], problems: list[InputError]
) -> None:
    from rich.table import Table

    from painrcm.remit.explain import action_text

    for rep in reports:
        title = f"{file}: payment {_money(rep.payment)}"
        if rep.payer_name:
            title += f" from {rep.payer_name}"
        if rep.trace_number:
            title += f" (trace {rep.trace_number})"
        console.print(title, style="bold", markup=False)
        for c in rep.claims:
            head = (
                f"Claim {c.patient_control_number}: {c.status_text}; billed {_money(c.billed)}, "
                f"paid {_money(c.paid)}"
            )
            if c.patient_responsibility:
                head += f", patient {_money(c.patient_responsibility)}"
            if c.matched_encounter:
                head += f"; matches submitted claim {c.matched_encounter}"
            elif rep.matching == "done":
                head += "; NO MATCHING SUBMITTED CLAIM"
            if c.reversal:
                head += "; REVERSAL"
            console.print(head, markup=False)
            for a in c.adjustments:
                console.print(
                    f"  claim adjustment {a.code} {_money(a.amount)}: {a.explanation}", markup=False
                )
            for rm in c.remarks:
                console.print(f"  claim remark {rm.code}: {rm.explanation}", markup=False)
            if c.lines:
                t = Table(pad_edge=False, box=None, header_style="bold")
                t.add_column("#")
                t.add_column("code", no_wrap=True)
                t.add_column("billed", justify="right", no_wrap=True)
                t.add_column("allowed", justify="right", no_wrap=True)
                t.add_column("paid", justify="right", no_wrap=True)
                t.add_column("adjustments, remarks")
                t.add_column("next action")
                for n, ln in enumerate(c.lines, 1):
                    code = ln.code + ("-" + "-".join(ln.modifiers) if ln.modifiers else "")
                    adjs = [f"{a.code} {_money(a.amount)}" for a in ln.adjustments] + [
                        r.code for r in ln.remarks
                    ]
                    allowed = _money(ln.allowed)
                    if ln.underpayment is not None and ln.underpayment.flagged:
                        allowed += "!"
                    t.add_row(
                        str(n),
                        code or "?",
                        _money(ln.billed),
                        allowed,
                        _money(ln.paid),
                        ", ".join(adjs),
                        action_text(ln.next_action),
                    )
                console.print(t)
                for n, ln in enumerate(c.lines, 1):
                    console.print(f"  line {n}: {ln.explanation}", markup=False)
                    if ln.next_action != "no_action":
                        console.print(
                            f"    next: {action_text(ln.next_action)}. {ln.next_action_detail}", markup=False
                        )
                    if ln.prevented_by:
                        console.print(
                            f"    painrcm edits that catch this before submission: {', '.join(ln.prevented_by)}",
                            markup=False,
                        )
                    if ln.match is not None:
                        console.print(
                            f"    submitted: claim {ln.match.encounter_id} line {ln.match.line} "
                            f"(matched by {ln.match.by.replace('_', ' ')})",
                            markup=False,
                        )
                    elif rep.matching == "done":
                        console.print("    submitted: no matching submitted line", markup=False)
                    up = ln.underpayment
                    if up is not None and up.flagged:
                        console.print(
                            f"    UNDERPAID: expected allowed {_money(up.expected_allowed)} ({up.basis}), "
                            f"short {_money(up.shortfall)}",
                            markup=False,
                        )
            else:
                console.print(f"  {c.explanation}", markup=False)
                console.print(f"  next: {action_text(c.next_action)}. {c.next_action_detail}", markup=False)
        for p in rep.provider_adjustments:
            console.print(
                f"Provider adjustment {p.reason}{' ' + p.reference if p.reference else ''}: "
                f"{_money(p.amount)} (positive = taken back)",
                markup=False,
            )
        rec = rep.reconciliation
        state = "reconciles" if rec.balanced else "DOES NOT RECONCILE"
        console.print(
            f"Payment {state}: claims paid {_money(rec.claims_paid)} - provider adjustments "
            f"{_money(rec.provider_adjustments)} = {_money(rec.expected_payment)}; BPR02 {_money(rec.payment)}",
            markup=False,
        )
        for u in rep.unmatched_lines:
            console.print(
                f"Unmatched: claim {u.patient_control_number} {u.code or '?'} (segment {u.segment}): {u.reason}",
                markup=False,
            )
        for rv in rep.reversals:
            console.print(f"Reversal: claim {rv} (CLP02 = 22)", markup=False)
        for fl in rep.flags:
            console.print(f"Flag: {fl}", markup=False)
        console.print("")
    for w in warnings:
        console.print(f"note: {w.render()}", markup=False)
    for p in problems:
        console.print(f"note: submitted claim not read: {p.render()}", markup=False)


def era(
    remittance: Annotated[Path, typer.Argument(help="An X12 835 remittance file.", metavar="FILE.835")],
    claims: Annotated[
        list[Path] | None,
        typer.Option(
            "--claims", help="Submitted claims to match: 837P file, encounter JSON, or a folder (repeatable)."
        ),
    ] = None,
    fee_schedule: Annotated[
        Path | None, typer.Option("--fee-schedule", help="Contracted rates CSV (docs/fee-schedule.md).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of a report.")
    ] = False,
) -> None:
    """Explain an 835 remittance line by line: paid, denied, why, what to do next, which edit prevents it."""
    from painrcm.remit.explain import explain_remittance
    from painrcm.remit.underpay import check_underpayment, parse_fee_schedule
    from painrcm.x12.reader835 import read_835

    try:
        read = read_835(_read_text(remittance), str(remittance))
        encs: list[Encounter] | None = None
        problems: list[InputError] = []
        claim_notes: list[InputError] = []
        if claims:
            encs, problems = _read_claims(claims, claim_notes)
        schedule = None
        if fee_schedule is not None:
            schedule = parse_fee_schedule(_read_text(fee_schedule), str(fee_schedule))
        indicators = _indicators() if schedule is not None else {}
        reports = []
        for rem in read.remittances:
            rep = explain_remittance(rem, encs)
            if schedule is not None:
                check_underpayment(rep, schedule, indicators, encounters=encs or [])
            reports.append(rep)
    except InputError as e:
        raise _fail(e, str(remittance)) from None
    if as_json:
        doc = {
            "schema": ERA_SCHEMA,
            "file": str(remittance),
            "remittances": [r.model_dump(mode="json", exclude={"schema_"}) for r in reports],
            "warnings": [w.render() for w in read.warnings + claim_notes],
            "claim_problems": [p.render() for p in problems],
        }
        print(json.dumps(doc, indent=2))
        return
    _print_report(_console(), str(remittance), reports, read.warnings + claim_notes, problems)


def export837(
    encounters: Annotated[
        list[Path],
        typer.Argument(help="Encounter JSON files (or folders, or 837P files).", metavar="ENCOUNTER.json"),
    ],
    out: Annotated[Path, typer.Option("--out", help="The 837P file to write.", metavar="FILE.837")],
    sender_id: Annotated[str, typer.Option("--sender-id", help="ISA06/GS02 submitter ID.")] = "PAINRCM",
    receiver_id: Annotated[str, typer.Option("--receiver-id", help="ISA08/GS03 receiver ID.")] = "RECEIVER",
    control_number: Annotated[
        int, typer.Option("--control-number", help="ISA13/GS06 control number.", min=1, max=999_999_999)
    ] = 1,
    production: Annotated[
        bool, typer.Option("--production", help="Mark the interchange as production (ISA15 P).")
    ] = False,
) -> None:
    """Write encounters as one 5010 837P file (encounters without lines are coded first)."""
    from painrcm.x12.writer837 import write_837

    notes: list[InputError] = []
    sources: list[Any] = []
    try:
        encs, problems = _read_claims(encounters, notes, sources)
        if problems:
            raise problems[0]  # a refusal is one located line: the reader's notes are dropped then
        if not encs:
            raise InputError(None, None, "no encounters found in the inputs")
        if any(not e.lines for e in encs):
            encs = _code_missing(encs)  # only encounter JSON lacks lines: those have no X12 source
        text = write_837(
            encs,
            sender_id=sender_id,
            receiver_id=receiver_id,
            control_number=control_number,
            usage="P" if production else "T",
            now=datetime.now(),
            sources=sources,
        )
    except InputError as e:
        raise _fail(e) from None
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise _fail(InputError(str(out), None, f"cannot write the file ({e.strerror})")) from None
    _print_notes(notes)
    _console(stderr=True).print(f"wrote {len(encs)} claim(s) to {out}", markup=False)


def _code_missing(encs: list[Encounter]) -> list[Encounter]:
    from painrcm.coder import code_encounter
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies
    from painrcm.scrub import Engine

    eng = Engine(load_reference(), load_policies([]))
    out = []
    for e in encs:
        if not e.lines:
            e = e.model_copy(update={"lines": code_encounter(e, eng.reference, eng.policy_for(e))})
        out.append(e)
    return out


def register(app: typer.Typer) -> None:
    app.command("era")(era)
    app.command("export837")(export837)
