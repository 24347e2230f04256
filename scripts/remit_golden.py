"""Write tests/x12/data/remit835_golden.json.gz: what read_835 answers for the fixed 835 inputs of
tests/x12/remit_cases.py (sources and mutations). The file was written by the 835 reader before its
single-pass rewrite (issue 13); rewrite it only in a commit that means to change what the reader reads
or says.

    .venv/bin/python scripts/remit_golden.py
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from painrcm.x12.reader835 import read_835
from tests.x12.remit_cases import GOLDEN, answers


def main() -> None:
    data = answers(read_835)
    with gzip.open(GOLDEN, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(data, f, sort_keys=True, separators=(",", ":"))
    errors = sum(1 for v in data.values() if "error" in v)
    print(f"{GOLDEN}: {len(data)} answers ({errors} errors)")


if __name__ == "__main__":
    main()
