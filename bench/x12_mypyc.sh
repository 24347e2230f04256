#!/usr/bin/env bash
# bench/x12_bench.py with the compiled build (bench/mypyc.sh, which compiles the modules of
# mypyc_modules.txt, reader837.py among them), e.g.
#
#   bash bench/x12_mypyc.sh --claims 5000 --pyx12-claims 0 --repeat 9 --ref main
#
# "read_837 here" is then the compiled reader and "read_837 at main" main's pure-Python one, in one run.
exec bash "$(dirname "$0")/mypyc.sh" x12_bench.py "$@"
