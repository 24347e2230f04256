"""Issue 12: long command-line work draws a progress bar on stderr (a terminal, or PAINRCM_PROGRESS=1),
and never on piped output, so `--json` on stdout stays one clean document."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from painrcm.cli import app
from painrcm.edits import CATALOGUE
from painrcm.edits.examples import example_dict


def _claims_file(tmp_path: Path, n: int) -> Path:
    base = example_dict(copy.deepcopy(CATALOGUE["BUN001"].example))
    docs = [{**copy.deepcopy(base), "encounter_id": f"PROG-{i:03d}"} for i in range(n)]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(docs), encoding="utf-8")
    return path


@pytest.mark.parametrize(("env", "drawn"), [({"PAINRCM_PROGRESS": "1"}, True), ({}, False)])
def test_scrub_of_many_claims_shows_progress_only_where_wanted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], drawn: bool
) -> None:
    monkeypatch.delenv("PAINRCM_PROGRESS", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    res = CliRunner().invoke(app, ["scrub", "--json", str(_claims_file(tmp_path, 60))])
    assert res.exit_code == 1, res.stderr  # the BUN001 example has an error
    assert len(json.loads(res.stdout)["claims"]) == 60
    assert ("scrubbing many.json" in res.stderr) is drawn
