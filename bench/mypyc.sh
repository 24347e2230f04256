#!/usr/bin/env bash
# Runs a bench script with the engine compiled by mypyc (the modules of mypyc_modules.txt, built by
# setup.py exactly as `PAINRCM_MYPYC=1 pip install .` builds them, as its wheel), in a folder under /tmp put
# first on PYTHONPATH. The bench's own arguments follow its name, e.g.
#
#   bash bench/mypyc.sh scrub_bench.py --claims 10000 --rounds 3 --compare src   # compiled vs pure
#   bash bench/mypyc.sh x12_bench.py --claims 5000 --pyx12-claims 0 --repeat 9 --ref main
#
# scrub_bench's "after" engine is then the compiled copy (its lines say how many painrcm modules were
# compiled) and `--compare src` this tree's pure Python; x12_bench's "read_837 here" is the compiled
# reader. PAINRCM_MYPYC_TREE=DIR builds into DIR and keeps it, or reuses it when already built there
# (compiling takes a few CPU-minutes). Needs gcc and the Python headers; mypyc comes with mypy (the
# test extra).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="$root/.venv/bin/python"
bench="${1:?usage: bench/mypyc.sh BENCH_SCRIPT.py [its arguments]}"
shift
[[ "$bench" == */* ]] || bench="$root/bench/$bench"
if [[ -n "${PAINRCM_MYPYC_TREE:-}" ]]; then
    tree="$PAINRCM_MYPYC_TREE"
else
    tree="$(mktemp -d /tmp/painrcm-mypyc.XXXXXX)"
    trap 'rm -rf "$tree"' EXIT
fi
if [[ ! -f "$tree/built" ]]; then
    mkdir -p "$tree"
    rm -rf "$tree/src" "$tree/build" "$tree/wheel" "$tree/site"
    cp "$root/setup.py" "$root/pyproject.toml" "$root/mypyc_modules.txt" "$root/README.md" "$tree/"
    mkdir "$tree/src" && cp -r "$root/src/painrcm" "$tree/src/"
    find "$tree/src" -name __pycache__ -prune -exec rm -rf {} +
    t0=$(date +%s)
    # the wheel `PAINRCM_MYPYC=1 pip install .` would install (pip's own build environment, with the
    # setuptools pyproject.toml asks for), unpacked where the bench imports it
    (cd "$tree" && PAINRCM_MYPYC=1 "$py" -m pip wheel -q --no-deps -w "$tree/wheel" . >"$tree/build.log" 2>&1) || {
        grep -v "WARNING: Location" "$tree/build.log" | tail -30
        exit 1
    }
    "$py" -m zipfile -e "$tree"/wheel/painrcm-*.whl "$tree/site"
    echo "compiled $(find "$tree/site" -name '*.so' | wc -l) extension modules in $(($(date +%s) - t0)) s" \
        "(log: $tree/build.log)" >&2
    touch "$tree/built"
fi
(cd "$root" && PYTHONPATH="$tree/site" "$py" "$bench" "$@")
