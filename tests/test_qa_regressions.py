"""Hostile CLI input found by the QA fuzz pass: one located line on stderr, exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from painrcm.cli import main; sys.argv = ['painrcm', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        check=False,
        capture_output=True,
        text=True,
        env={"PAINRCM_HOME": str(home), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def _one_line_exit_2(r: subprocess.CompletedProcess[str], needle: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr


@pytest.mark.parametrize("cmd", [["code"], ["scrub"], ["auth", "request"]])
def test_a_json_number_of_thousands_of_digits_is_a_located_error(tmp_path: Path, cmd: list[str]) -> None:
    f = tmp_path / "big.json"
    f.write_text('{"a": ' + "9" * 5000 + "}")
    _one_line_exit_2(_run(*cmd, str(f), home=tmp_path), str(f))


def test_write_278_refuses_deeply_nested_json_in_one_line(tmp_path: Path) -> None:
    f = tmp_path / "deep.json"
    f.write_text("[" * 100000 + "]" * 100000)
    _one_line_exit_2(
        _run("auth", "write-278", str(f), "--out", str(tmp_path / "o.278"), home=tmp_path), str(f)
    )


def test_a_fee_schedule_with_a_giant_field_is_a_located_error(tmp_path: Path) -> None:
    era = next(Path("/work/shared/x12-samples/linuxforhealth").glob("managed-care.835"), None)
    if era is None:
        pytest.skip("the shared 835 sample is not here")
    f = tmp_path / "fees.csv"
    f.write_text("code,facility_rate,nonfacility_rate\n" + "x" * 200000 + ",1,1\n")
    _one_line_exit_2(_run("era", str(era), "--fee-schedule", str(f), home=tmp_path), str(f))


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "junk.db"
    f.write_bytes(b"\x00\xffnot sqlite" * 300)
    _one_line_exit_2(_run("admin", "users", "--db", f"sqlite:///{f}", home=tmp_path), "database")
    _one_line_exit_2(_run("rescrub", "--db", "notaurl", home=tmp_path), "database")


def test_fix_written_to_a_folder_is_one_line(tmp_path: Path) -> None:
    import json

    from painrcm.edits.examples import example_dict

    enc = tmp_path / "e.json"
    enc.write_text(json.dumps(example_dict({"encounter_id": "Q-1", "date_of_service": "2026-03-02"})))
    (tmp_path / "adir").mkdir()
    _one_line_exit_2(_run("scrub", str(enc), "--fix", "--x12", str(tmp_path / "adir"), home=tmp_path), "adir")
