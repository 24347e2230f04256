#!/usr/bin/env bash
# The 837P reader compiled with mypyc, measured (a measurement, not the build: painrcm installs and runs
# as pure Python). The same source, unchanged, is compiled in a copy of src/ under a temporary directory
# and put first on PYTHONPATH; then bench/x12_bench.py runs with the arguments given, e.g.
#
#   bash bench/x12_mypyc.sh --claims 5000 --pyx12-claims 0 --repeat 9 --ref main
#
# "read_837 here" is then the compiled reader and "read_837 at main" main's pure-Python one, in one run.
# Needs gcc and the Python headers; mypyc comes with mypy (the test extra). About a minute to compile.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="$root/.venv/bin/python"
tmp="$(mktemp -d /tmp/painrcm-mypyc.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/src/painrcm" "$tmp/"
(cd "$tmp" && "$root/.venv/bin/mypyc" painrcm/x12/reader837.py >"$tmp/build.log" 2>&1) || {
    tail -30 "$tmp/build.log"
    exit 1
}
PYTHONPATH="$tmp" "$py" "$root/bench/x12_bench.py" "$@"
