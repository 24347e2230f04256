"""Human-readable output for the command line (rich): reports, the edit list and edit docs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: `painrcm explain` needs neither rich tables nor the catalogue
    from rich.console import Console
    from rich.table import Table

    from painrcm.edits.base import Edit
    from painrcm.model import ClaimResult, Encounter, Line
    from painrcm.scrub import Engine

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "clean": "green"}


def _lines_table(lines: list[Line], engine: Engine | None = None, title: str | None = None) -> Table:
    from rich.table import Table

    t = Table(title=title, show_edge=False, title_justify="left")
    t.add_column("#", justify="right")
    t.add_column("code")
    t.add_column("modifiers")
    t.add_column("units", justify="right")
    t.add_column("dx ptr")
    if engine is not None:
        t.add_column("what it is")
    for i, ln in enumerate(lines, 1):
        units = ln.units if ln.units is None or not float(ln.units).is_integer() else int(ln.units)
        row = [
            str(i),
            ln.code,
            " ".join(ln.modifiers),
            str(units),
            ",".join(map(str, ln.diagnosis_pointers or [])),
        ]
        if engine is not None:
            info = engine.reference.info(ln.code)
            row.append(info.label if info else "")
        t.add_row(*row)
    return t


def print_coded(console: Console, results: list[tuple[Encounter, list[Line]]], engine: Engine) -> None:
    for enc, lines in results:
        policy = engine.policy_for(enc)
        console.print(
            f"[bold]{enc.encounter_id}[/bold]  {enc.date_of_service}  POS {enc.place_of_service}  "
            f"payer {enc.payer.id} (policy: {policy.id})"
        )
        console.print(_lines_table(lines, engine))
        console.print()


def print_scrub(console: Console, results: list[ClaimResult], show_fixed: bool = False) -> None:
    counts = {"error": 0, "warning": 0, "clean": 0}
    for r in results:
        counts[r.status] += 1
        console.print(
            f"[bold]{r.claim_id}[/bold]  [{_STYLE[r.status]}]{r.status.upper()}[/]  (policy: {r.payer_policy})"
        )
        console.print(_lines_table(r.lines))
        for f in r.findings:
            where = f"line {f.line}" if f.line else "claim"
            console.print(
                f"  [{_STYLE[f.severity.value]}]{f.severity.value:<7}[/] {f.edit} ({where}) {f.message}"
            )
            if f.fix:
                console.print(f"          fix: {f.fix}", style="dim")
        if r.not_checked:
            names = ", ".join(sorted({n.edit for n in r.not_checked}))
            reasons = "; ".join(sorted({n.reason for n in r.not_checked}))
            console.print(f"  not checked: {names} ({reasons})", style="dim")
        if show_fixed:
            if r.fixed_lines is not None and r.fixed_lines != r.lines:
                console.print(_lines_table(r.fixed_lines, title="  corrected lines"))
            elif r.fixed_lines is None and r.status == "error":
                console.print("  no automatic correction: at least one error needs a person", style="dim")
        console.print()
    if results:
        ed = results[0].editions
        console.print(
            f"{len(results)} claims: {counts['clean']} clean, {counts['warning']} with warnings, "
            f"{counts['error']} with errors"
        )
        console.print("data: " + "; ".join(f"{k} {v}" for k, v in ed.items()), style="dim")


def print_edit_list(console: Console) -> None:
    from rich.table import Table

    from painrcm.edits import CATALOGUE

    t = Table(show_edge=False)
    t.add_column("edit")
    t.add_column("severity")
    t.add_column("what it catches")
    for e in CATALOGUE.values():
        t.add_row(e.id, e.severity.value, e.title)
    console.print(t)


def _claim_json(example: dict[str, Any]) -> str:
    """An example's keys (what differs from the standard example claim): every key, the claim's
    facts first in the contract's order, then anything else (a date, a total, the patient ...)."""
    first = (
        "payer",
        "practice",
        "place_of_service",
        "diagnoses",
        "evaluation",
        "procedures",
        "documentation",
        "authorization_number",
        "lines",
        "drugs",
    )
    keep = {k: example[k] for k in first if k in example}
    keep.update({k: v for k, v in example.items() if k not in keep})
    return json.dumps(keep, indent=2)


def explain_text(edit: Edit) -> str:
    parts = [
        f"{edit.id} ({edit.severity.value}): {edit.title}",
        "",
        "What it checks",
        f"  {edit.what}",
        "",
        "Why payers deny it",
        f"  {edit.why}",
        "",
        "Example that fails (only what differs from the standard example claim)",
        _indent(_claim_json(edit.example)),
    ]
    if edit.example_note:
        parts += [f"  {edit.example_note}"]
    parts += ["", "Corrected", _indent(_claim_json(edit.fixed)), "", "Sources"]
    parts += [f"  - {s}" for s in edit.sources]
    return "\n".join(parts) + "\n"


def _indent(text: str) -> str:
    return "\n".join("  " + ln for ln in text.splitlines())


def print_explain(console: Console, edit: Edit) -> None:
    # plain text, never re-wrapped: billers copy the example claims out of it
    console.file.write(explain_text(edit))


def edits_markdown() -> str:
    """The docs page of every edit, generated from the edits themselves (docs/edits.md): one section
    per family (EDITS.md), each edit in ID order."""
    from painrcm.edits import CATALOGUE, FAMILIES

    out = [
        "# The edit catalogue",
        "",
        "Generated by `painrcm edits --markdown` from the edit modules in",
        "`src/painrcm/edits/`; do not edit by hand.",
    ]
    by_family: dict[str, list[Edit]] = {}
    for e in sorted(CATALOGUE.values(), key=lambda e: e.id):
        by_family.setdefault(e.family, []).append(e)
    families = [f for f in FAMILIES if f in by_family] + sorted(set(by_family) - set(FAMILIES))
    out += ["", "Sections: " + ", ".join(f"[{f}](#{f.lower()})" for f in families) + "."]
    for fam in families:
        edits = by_family[fam]
        out += ["", f"## {fam}", "", f"{fam}: {FAMILIES.get(fam, 'other edits')}.", ""]
        out += ["| edit | severity | what it catches |", "| --- | --- | --- |"]
        out += [f"| [{e.id}](#{e.id.lower()}) | {e.severity.value} | {e.title} |" for e in edits]
        for e in edits:
            out += [
                "",
                f"### {e.id}",
                "",
                f"**{e.title}** ({e.severity.value})",
                "",
                "**What it checks.** " + e.what,
                "",
                "**Why payers deny it.** " + e.why,
                "",
                ("**Failing example** (keys that differ from the standard example claim):"),
                "",
                "```json",
                _claim_json(e.example),
                "```",
            ]
            if e.example_note:
                out += ["", e.example_note]
            out += [
                "",
                "**Corrected:**",
                "",
                "```json",
                _claim_json(e.fixed),
                "```",
                "",
                "**Sources:** " + "; ".join(e.sources),
                "",
                "**Runs on:** " + _applies_words(e),
            ]
    return "\n".join(out) + "\n"


def _applies_words(e: Edit) -> str:
    if not e.applies_when:
        return "every claim."
    entries = [" and ".join(f"`{f}`" for f in entry.split("+")) for entry in e.applies_when]
    return "claims with " + " or ".join(entries) + " (features: `painrcm.edits.applies`)."
