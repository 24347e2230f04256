#!/usr/bin/env bash
# The engine's tests against the compiled build (docs/compiled.md): a fresh venv under /tmp, the
# package installed from this tree with PAINRCM_MYPYC=1 (a regular install, not editable, so the
# compiled modules are what Python imports), then pytest on the tests of the edits, coder, history,
# scrub (golden findings) and X12 readers, from this tree's tests/ with the installed package. A check
# run inside the pytest process stops it first unless painrcm comes from that venv and the modules of
# mypyc_modules.txt are the compiled ones. Any pytest arguments given are passed on (e.g. -x, -k ...).
#
#   bash scripts/test-compiled.sh
#   bash scripts/test-compiled.sh tests/test_scrub_golden.py -x
#
# Needs gcc and the Python headers; the build takes a few CPU-minutes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/painrcm-compiled.XXXXXX)"
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
PAINRCM_MYPYC=1 "$work/venv/bin/pip" install -q "$root[test]"
t1=$(date +%s)
echo "installed compiled in $((t1 - t0)) s" >&2
cat >"$work/compiled_check.py" <<'EOF'
"""pytest plugin: the session runs on the installed compiled package, or not at all."""

import importlib
import sys
from pathlib import Path


def pytest_sessionstart(session):
    import painrcm

    where = Path(painrcm.__file__).resolve()
    if Path(sys.prefix).resolve() not in where.parents:
        raise SystemExit(f"painrcm imported from {where}, not the compiled install in {sys.prefix}")
    dist = Path(painrcm.__file__).parent
    compiled = [p for p in dist.rglob("*.so")]
    names = [".".join(p.relative_to(dist.parent).parts).split(".cpython")[0] for p in compiled]
    for name in ("painrcm.scrub", "painrcm.edits.nec009", "painrcm.x12.reader837") + tuple(names):
        module = importlib.import_module(name.removesuffix(".__init__"))
        if not str(module.__file__).endswith(".so"):
            raise SystemExit(f"{name} is not compiled here: {module.__file__}")
    print(f"\ncompiled build: {len(compiled)} compiled painrcm modules, imported from {dist}")
EOF
cd "$root"
tests=(tests --ignore=tests/browser --ignore=tests/web --ignore=tests/store)
[[ $# -gt 0 ]] && tests=("$@")
rc=0
PYTHONPATH="$work" "$work/venv/bin/python" -m pytest -p compiled_check -n 2 -q -rfE "${tests[@]}" || rc=$?
echo "tests under the compiled build: $(($(date +%s) - t1)) s (install $((t1 - t0)) s)" >&2
exit $rc
