"""Hostile input to the command line (issue 8): each case ends with exit code 2 and one line naming
the file, the place and what was expected; never a traceback. Runs the installed `painrcm`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from painrcm.edits.examples import example_dict

BIN = Path(sys.executable).parent / "painrcm"
AUTH_HEADER = "auth_number,payer_id,member_id,codes,sessions,start_date,end_date,rendering_npi,status\n"


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def _one_located_line(res: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout[-500:], res.stderr[-2000:])
    assert "Traceback" not in res.stderr + res.stdout
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    for p in parts:
        assert p in lines[0], lines[0]


@pytest.fixture(scope="module")
def claim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("claim") / "claim.json"
    p.write_text(json.dumps(example_dict({"encounter_id": "H-1", "date_of_service": "2026-03-02"})))
    return p


@pytest.mark.parametrize(
    "command",
    [("scrub",), ("code",), ("export837", "--out", "x.837"), ("limits", "--chart-id", "C1", "--history")],
)
def test_json_nested_1000_deep_is_a_located_message(tmp_path: Path, command: tuple[str, ...]) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 1000 + "]" * 1000)
    args = [*command, deep] if command[0] != "export837" else [command[0], deep, *command[1:]]
    _one_located_line(_run(*args), "deep.json", "nested at most")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (AUTH_HEADER + "A1,P,M,64483,inf,2026-01-01,2026-06-01,,approved\n", "record 1, field sessions"),
        (AUTH_HEADER + "A1,P,M,64483,1e400,2026-01-01,2026-06-01,,approved\n", "record 1, field sessions"),
        (AUTH_HEADER + 'A1,P,M,"' + "x" * 140_000 + '",1,2026-01-01,2026-06-01,,approved\n', "128 KiB"),
    ],
)
def test_bad_authorization_logs_are_located_messages(
    tmp_path: Path, claim: Path, body: str, expected: str
) -> None:
    log = tmp_path / "auths.csv"
    log.write_text(body)
    _one_located_line(_run("scrub", claim, "--auths", log), "auths.csv", expected)


def test_an_authorization_log_that_is_not_utf8_is_a_located_message(tmp_path: Path, claim: Path) -> None:
    log = tmp_path / "auths.csv"
    log.write_bytes(AUTH_HEADER.encode() + b"A1,\xff\xfe\n")
    _one_located_line(_run("scrub", claim, "--auths", log), "auths.csv", "byte", "UTF-8")


@pytest.mark.parametrize("pointer", ["\u0661", "\u00b2", "1" * 5000])
def test_sv107_pointers_that_are_not_ascii_numbers_are_located_messages(
    tmp_path: Path, claim: Path, pointer: str
) -> None:
    ok = tmp_path / "ok.837"
    assert _run("export837", claim, "--out", ok).returncode == 0
    text = ok.read_text(encoding="utf-8")
    sv1 = re.search(r"SV1\*[^~]*~", text)
    assert sv1 is not None
    parts = sv1.group(0)[:-1].split("*")
    parts[7] = pointer
    bad = tmp_path / "bad.837"
    bad.write_text(text.replace(sv1.group(0), "*".join(parts) + "~"), encoding="utf-8")
    _one_located_line(_run("scrub", bad), "bad.837", "SV107 diagnosis pointer")


@pytest.mark.parametrize("amount", ["Infinity", "NaN", "1e400"])
def test_export837_refuses_amounts_that_are_not_finite(tmp_path: Path, amount: str) -> None:
    doc = example_dict({"encounter_id": "H-2", "date_of_service": "2026-03-02"})
    text = json.dumps(doc).replace('"units": 1', f'"units": 1, "charge": {amount}', 1)
    src = tmp_path / "inf.json"
    src.write_text(text)
    out = tmp_path / "inf.837"
    _one_located_line(_run("export837", src, "--out", out), "H-2", "line 1", "finite charge")
    assert not out.exists()
