"""Start-up (issue 13 item 4): a command imports only what it uses. Checked by behaviour (which modules
a fresh process has loaded after the command), never by time; the timings are in bench/startup_bench.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLAIM = Path(__file__).resolve().parent.parent / "src/painrcm/demo/data/claims/01-clean-tfesi-coded.json"
PROBE = """
import json, sys
sys.argv = ["painrcm", *json.loads(sys.argv[1])]
from painrcm.cli import main
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""
WORKSPACE = ("sqlalchemy", "fastapi", "starlette", "uvicorn", "alembic", "jinja2", "redis", "rq", "psycopg")


def loaded(*args: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))], capture_output=True, text=True, check=True
    )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def roots(mods: set[str]) -> set[str]:
    return {m.split(".")[0] for m in mods}


def test_help_imports_no_engine_no_workspace_no_models() -> None:
    mods = loaded("--help")
    assert not roots(mods) & {*WORKSPACE, "pydantic", "yaml", "simple_icd_10_cm"}
    assert not {m for m in mods if m.startswith(("painrcm.edits", "painrcm.model", "painrcm.codes"))}
    assert not {m for m in mods if m.startswith(("painrcm.x12", "painrcm.store", "painrcm.web"))}


def test_explain_imports_one_edit_and_no_reference_data() -> None:
    mods = loaded("explain", "BUN001")
    assert not roots(mods) & {*WORKSPACE, "yaml", "simple_icd_10_cm", "rich"}
    edits = {m for m in mods if m.startswith("painrcm.edits.")}
    assert "painrcm.edits.bun001" in edits and len(edits) <= 3  # the edit, base and what base needs
    assert not {
        m
        for m in mods
        if m.startswith(("painrcm.coder", "painrcm.codes.loader", "painrcm.x12", "painrcm.policy"))
    }


def test_explain_still_finds_every_edit_and_refuses_unknown_ones() -> None:
    from typer.testing import CliRunner

    from painrcm.cli import app
    from painrcm.edits import CATALOGUE, get_edit

    assert all(get_edit(eid.lower()) is CATALOGUE[eid] for eid in CATALOGUE)
    res = CliRunner().invoke(app, ["explain", "XYZ999"])
    assert res.exit_code == 2


@pytest.mark.parametrize("args", [["scrub"], ["scrub", "--json"], ["code"]])
def test_a_json_claim_needs_no_workspace_and_no_x12(args: list[str]) -> None:
    mods = loaded(*args, str(CLAIM))
    assert not roots(mods) & set(WORKSPACE)
    assert not {m for m in mods if m.startswith(("painrcm.x12", "painrcm.store", "painrcm.web"))}
    assert "painrcm.scrub" in mods or args == ["code"]
