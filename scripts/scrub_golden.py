"""Write tests/data/scrub_golden.txt.gz: the scrubber's results on the large generated corpus of
tests/scrub_corpus.py, one compact line per claim. tests/test_scrub_golden.py proves the engine
still gives exactly these results.

    .venv/bin/python scripts/scrub_golden.py          # rewrite the golden file
    .venv/bin/python scripts/scrub_golden.py --check  # compare only (what the test does)

Rewrite it only when a change is MEANT to change findings (a new edit, a corrected rule), and say
so in the commit; a speed change must leave it untouched.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from painrcm.codes.loader import load_reference
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine
from tests import scrub_corpus


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the golden file, write nothing")
    args = ap.parse_args()
    engine = Engine(load_reference(), load_policies())
    t0 = time.perf_counter()
    got = list(scrub_corpus.results(engine))
    print(f"{len(got):,} claims in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.check:
        want = scrub_corpus.read_golden()
        diff = [(w, g) for w, g in zip(want, got, strict=False) if w != g]
        for w, g in diff[:10]:
            print(f"- {w}\n+ {g}")
        print(f"{len(diff)} claims differ; {len(want)} golden, {len(got)} now", file=sys.stderr)
        return 1 if diff or len(want) != len(got) else 0
    scrub_corpus.write_golden(got)
    counts: dict[str, int] = {}
    for line in got:
        for f in line.split(" | ")[1].split():
            counts[f.split("/")[0]] = counts.get(f.split("/")[0], 0) + 1
    print(f"wrote {scrub_corpus.GOLDEN}; findings per edit: {dict(sorted(counts.items()))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
