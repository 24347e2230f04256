"""`painrcm data`: bring CMS's current files into painrcm and show which editions are in use.

Mounted by `painrcm.cli` as ``painrcm data``. Thin: the parsing lives in `painrcm.codes.cms_import`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from painrcm.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

    from painrcm.codes.cms_import import ImportResult

data_app = typer.Typer(
    help="Import CMS's quarterly NCCI PTP, MUE and fee-schedule files and yearly ICD-10-CM codes; "
    "show which editions painrcm uses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(
    help="Import a CMS file in its published layout into PAINRCM_HOME (replaces the packaged edition).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app.add_typer(import_app, name="import")

EditionOpt = Annotated[
    str | None,
    typer.Option("--edition", help="Name of the edition to record (default: derived from the file name)."),
]


def _out() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _import(what: str, run: Callable[[], ImportResult]) -> None:
    """Run one import; bad input ends the command with exit 2 and the located message."""
    from painrcm.cli import fail
    from painrcm.progress import spinner

    try:
        with spinner(f"importing {what}"):
            result = run()
    except InputError as e:
        raise fail(e) from None
    parts = len(result.sources)
    from_txt = f" from {parts} files" if parts > 1 else ""
    _out().print(
        f"Imported {result.rows:,} {what}{from_txt}.\nEdition: {result.edition}\nStored in: {result.path}",
        markup=False,
    )


@import_app.command("ptp")
def import_ptp(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="CMS practitioner PTP zip archives or their .txt parts (give every part).",
            show_default=False,
        ),
    ],
    edition: EditionOpt = None,
) -> None:
    """NCCI procedure-to-procedure edits, practitioner table (all parts of one quarter)."""
    from painrcm.codes import cms_import

    _import("PTP rows", lambda: cms_import.import_ptp(files, edition))


@import_app.command("mue")
def import_mue(
    file: Annotated[Path, typer.Argument(help="CMS practitioner MUE zip archive or its .csv.")],
    edition: EditionOpt = None,
) -> None:
    """Medically unlikely edits, practitioner services."""
    from painrcm.codes import cms_import

    _import("MUE values", lambda: cms_import.import_mue(file, edition))


@import_app.command("mpfs")
def import_mpfs(
    file: Annotated[Path, typer.Argument(help="CMS RVU zip archive (RVUyyX.zip) or its PPRRVU*.csv.")],
    edition: EditionOpt = None,
) -> None:
    """Physician fee schedule indicators (status, global days, multiple/bilateral/assistant/co-surgery)."""
    from painrcm.codes import cms_import

    _import("fee-schedule codes", lambda: cms_import.import_mpfs(file, edition))


@import_app.command("icd10cm")
def import_icd10cm(
    file: Annotated[
        Path, typer.Argument(help="icd10cm-codes-YYYY.txt or icd10cm-order-YYYY.txt, or CMS's zip of them.")
    ],
    fiscal_year: Annotated[
        int,
        typer.Option(
            "--fiscal-year",
            help="The fiscal year the codes are valid for (FY2027 starts 2026-10-01).",
            show_default=False,
        ),
    ],
) -> None:
    """ICD-10-CM billable codes for one fiscal year."""
    from painrcm.codes import cms_import

    _import(
        f"billable ICD-10-CM codes for FY{fiscal_year}", lambda: cms_import.import_icd10cm(file, fiscal_year)
    )


@data_app.command("show")
def show() -> None:
    """Print the editions in use (packaged or imported) and where PAINRCM_HOME is."""
    from painrcm.cli import fail
    from painrcm.codes import cms_import
    from painrcm.codes.loader import painrcm_home

    home = painrcm_home()
    try:
        rows = cms_import.status(home)
    except InputError as e:
        raise fail(e) from None
    out = _out()
    how = "from PAINRCM_HOME" if os.environ.get("PAINRCM_HOME") else "default; set PAINRCM_HOME to change"
    out.print(f"PAINRCM_HOME: {home} ({how})", markup=False)
    out.print(f"Imported CMS files go in: {cms_import.cms_dir(home)}", markup=False)
    width = max(len(r.dataset) for r in rows)
    for r in rows:
        out.print(f"  {r.dataset:<{width}}  {r.origin:<8}  {r.edition}", markup=False)
        if r.origin != "packaged":
            out.print(f"  {'':<{width}}  {'':<8}  {r.file}", markup=False)
    try:
        from painrcm.codes.loader import package_icd10

        pkg = package_icd10()
        note = "" if not any(r.dataset == f"icd10cm fy{pkg.fiscal_year}" for r in rows) else " (replaced)"
        out.print(
            f"  {'icd10cm':<{width}}  {'packaged':<8}  FY{pkg.fiscal_year} ({pkg.source}){note}", markup=False
        )
    except (InputError, OSError, StopIteration):
        out.print(f"  {'icd10cm':<{width}}  packaged ICD-10-CM package not found", markup=False)
