"""What a regular (non-editable) install carries: every data file of the package."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "painrcm"


def test_every_data_file_of_the_package_is_package_data() -> None:
    # a wheel once lacked the web templates: an installed painrcm answered its login page with a 500
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["painrcm"]
    suffixes = {p.removeprefix("**/*") for p in patterns}
    left_out = sorted(
        str(p.relative_to(SRC))
        for p in SRC.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix not in {".py", ".pyc", ".so"}
        and p.suffix not in suffixes
    )
    assert left_out == []
