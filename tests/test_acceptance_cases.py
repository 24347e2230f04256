"""Issue 10's real-note acceptance cases (tests/acceptance_cases/*.json), run through the command line
the way the shared acceptance runner does: `painrcm code --json` for expected lines, `painrcm scrub
--json [--history DIR]` for findings, with the same rules (no unlisted error, exit code agrees)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CASES = sorted((Path(__file__).parent / "acceptance_cases").glob("*.json"))


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("painrcm")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("painrcm")
    return [found] if found else [sys.executable, "-m", "painrcm.cli"]


def _run(args: list[str]) -> tuple[int, str, str]:
    p = subprocess.run(_cli() + args, check=False, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def _key(line: dict) -> tuple:
    return line["code"], tuple(sorted(line.get("modifiers") or [])), line.get("units", 1)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path, tmp_path: Path) -> None:
    case = json.loads(path.read_text())
    expect = case["expect"]
    enc = tmp_path / "encounter.json"
    enc.write_text(json.dumps(case["encounter"]))
    extra: list[str] = []
    if case.get("history") is not None:
        hdir = tmp_path / "history"
        hdir.mkdir()
        for i, h in enumerate(case["history"]):
            (hdir / f"h{i:03d}.json").write_text(json.dumps(h))
        extra = ["--history", str(hdir)]
    if "lines" in expect:
        code, out, err = _run(["code", str(enc), "--json"])
        assert code == 0, err
        got = json.loads(out)["lines"]
        assert sorted(_key(x) for x in got) == sorted(_key(x) for x in expect["lines"]), case["about"]
    if not any(k in expect for k in ("errors", "warnings", "status", "absent", "not_checked")):
        return
    code, out, err = _run(["scrub", str(enc), "--json", *extra])
    assert code in (0, 1), err
    claim = json.loads(out)["claims"][0]
    findings = claim["findings"]
    has_error = any(f["severity"] == "error" for f in findings)
    assert (code == 1) == has_error
    reported = [(f["edit"], f["severity"], f["line"]) for f in findings]
    for key, severity in (("errors", "error"), ("warnings", "warning")):
        for edit, line in expect.get(key, []):
            assert any(e == edit and s == severity and (line is None or n == line) for e, s, n in reported), (
                f"{case['about']}: expected {severity} {edit} at line {line}; reported {reported}"
            )
    allowed = {e for e, _ in expect.get("errors", [])}
    extra_errors = [r for r in reported if r[1] == "error" and r[0] not in allowed]
    assert not extra_errors, f"{case['about']}: unexpected errors {extra_errors}"
    not_checked = {n["edit"] for n in claim["not_checked"]}
    for edit in expect.get("not_checked", []):
        assert edit in not_checked, f"{case['about']}: {edit} should be not_checked"
    for edit in expect.get("absent", []):
        assert edit not in {e for e, _, _ in reported}, f"{case['about']}: {edit} should not be reported"
    if "status" in expect:
        assert claim["status"] == expect["status"]


def test_fix_keeps_the_second_bilateral_level(tmp_path: Path) -> None:
    """`--fix` on 64483-50 x2 (bilateral L4 and L5) rebuilds 64483-50 + 64484-50: no level is lost."""
    case = json.loads((Path(__file__).parent / "acceptance_cases" / "scrub-tfesi-50-twice.json").read_text())
    enc = tmp_path / "e.json"
    enc.write_text(json.dumps(case["encounter"]))
    code, out, _ = _run(["scrub", str(enc), "--json", "--fix"])
    assert code == 1
    fixed = json.loads(out)["claims"][0]["fixed_lines"]
    assert sorted(_key(x) for x in fixed) == [("64483", ("50",), 1), ("64484", ("50",), 1)]


def test_fix_without_a_note_never_guesses_the_levels(tmp_path: Path) -> None:
    case = json.loads(
        (Path(__file__).parent / "acceptance_cases" / "scrub-facet-repeated-primary-50-rt.json").read_text()
    )
    doc = case["encounter"]
    doc.pop("procedures")
    enc = tmp_path / "e.json"
    enc.write_text(json.dumps(doc))
    code, out, _ = _run(["scrub", str(enc), "--json", "--fix"])
    claim = json.loads(out)["claims"][0]
    assert code == 1 and "ADD002" in {f["edit"] for f in claim["findings"]}
    assert claim["fixed_lines"] is None


def test_fix_rebuilds_the_sides_from_the_note(tmp_path: Path) -> None:
    case = json.loads(
        (Path(__file__).parent / "acceptance_cases" / "scrub-facet-repeated-primary-50-rt.json").read_text()
    )
    enc = tmp_path / "e.json"
    enc.write_text(json.dumps(case["encounter"]))
    _, out, _ = _run(["scrub", str(enc), "--json", "--fix"])
    fixed = json.loads(out)["claims"][0]["fixed_lines"]
    assert sorted(_key(x) for x in fixed) == [("64493", ("50",), 1), ("64494", ("RT",), 1)]
