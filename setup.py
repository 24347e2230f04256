"""Builds painrcm as pure Python (the reference; what `pip install -e .` and CI use), or, with
PAINRCM_MYPYC=1 and a regular (non-editable) install, with the engine's hot modules compiled by mypyc:

    PAINRCM_MYPYC=1 pip install .

The modules compiled are listed in mypyc_modules.txt; the source is the same in both builds. mypyc
comes with mypy, at the version the test extra pins (asked of the build environment here). See
docs/compiled.md.
"""

from __future__ import annotations

import glob
import os
import sys
import tomllib
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent


def compiled_modules() -> list[str]:
    """The paths under src/ that mypyc_modules.txt lists: globs expanded, "!path" lines left out."""
    keep: list[str] = []
    for raw in (ROOT / "mypyc_modules.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("!"):
            drop = line[1:].strip()
            if drop not in keep:
                raise SystemExit(f"mypyc_modules.txt: {drop} is not listed above")
            keep.remove(drop)
            continue
        found = sorted(str(Path(p).relative_to(ROOT / "src")) for p in glob.glob(str(ROOT / "src" / line)))
        if not found:
            raise SystemExit(f"mypyc_modules.txt: nothing under src/ matches {line}")
        keep += [p for p in found if p not in keep]
    for path in keep:
        if "cached_property" in (ROOT / "src" / path).read_text(encoding="utf-8"):
            # mypyc 2.4 compiles functools.cached_property as a plain property, without a word: the
            # value would be computed again on every use (python/mypy#21611)
            raise SystemExit(f"mypyc_modules.txt: {path} uses cached_property: leave it interpreted")
    return keep


def build_requires() -> list[str]:
    """What compiling needs besides setuptools: mypy (mypyc is part of it) and what mypy must see to
    type the compiled modules as `mypy` does in CI (pydantic's models, PyYAML's stubs), at the
    versions pyproject.toml pins, so that there is one pin for each."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = project["dependencies"] + project["optional-dependencies"]["test"]
    wanted = ("mypy==", "pydantic==", "types-PyYAML==")
    return [p for p in pins if p.startswith(wanted)]


if os.environ.get("PAINRCM_MYPYC") == "1":
    if "editable_wheel" in sys.argv or "develop" in sys.argv:
        # an edited .py beside its compiled module would be ignored until the next install
        raise SystemExit("PAINRCM_MYPYC=1 builds a regular install only: pip install . (not -e)")
    try:
        from mypyc.build import mypycify
    except ImportError:
        # the build backend's first pass, asking what the build needs (then it runs again)
        setup(setup_requires=build_requires())
    else:
        modules = []
        if not {"egg_info", "dist_info"} & set(sys.argv):  # the metadata pass needs no compiling
            # one shared library (painrcm__mypyc) beside the package, and one small module per source
            paths = ["src/" + p for p in compiled_modules()]
            modules = mypycify(paths, opt_level="3", group_name="painrcm")
        setup(setup_requires=build_requires(), ext_modules=modules)
else:
    setup()
