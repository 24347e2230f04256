"""Scrub throughput benchmark (a script, not a test): claims per second on one core, per-claim
p50/p99 latency and peak memory, optionally against a large patient history.

    .venv/bin/python bench/scrub_bench.py                      # 1,000 and 100,000 claims
    .venv/bin/python bench/scrub_bench.py --claims 1000 --history 1000000
    # before/after in one run: the engine of another source tree on the same claims and history
    git archive main | tar -x -C /tmp/scrub-main
    .venv/bin/python bench/scrub_bench.py --claims 10000 --history 1000000 --compare /tmp/scrub-main/src

Each size runs in two passes over the same generated claims: a timed pass (perf_counter around
each claim, no tracing) and a tracemalloc pass for the Python-heap peak of scrubbing (tracing
slows Python down, so its time is not reported). ru_maxrss is the whole process's resident peak
so far (it never goes down). Results are kept, as the CLI keeps them to print its report.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

from painrcm import synth
from painrcm.codes.loader import load_reference
from painrcm.history import History
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine, scrub_encounter


def rss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024 * 1024) if sys.platform == "darwin" else r / 1024  # bytes on macOS, KiB on Linux


def pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def build_history(engine: Engine, n_lines: int, patients: list[dict], seed: int, start: date) -> History:
    t0 = time.perf_counter()
    h = History()
    lines = encounters = 0
    gen_time = 0.0
    add_time = 0.0
    it = synth.iter_history(n_lines, seed, patients=patients, end=start, days=730, engine=engine)
    while True:
        g0 = time.perf_counter()
        enc = next(it, None)
        g1 = time.perf_counter()
        gen_time += g1 - g0
        if enc is None:
            break
        h.add(enc, engine.reference)
        add_time += time.perf_counter() - g1
        lines += len(enc.lines or [])
        encounters += 1
    # the first window question sorts the index: count that as loading
    s0 = time.perf_counter()
    h._ensure_sorted()
    sort_time = time.perf_counter() - s0
    total = time.perf_counter() - t0
    print(
        f"history: {lines:,} service lines in {encounters:,} encounters of {len(patients):,} patients; "
        f"{len(h):,} indexed services"
    )
    print(
        f"  generate {gen_time:.1f} s (synthetic data, not product time); "
        f"load into index {add_time + sort_time:.1f} s (add {add_time:.1f} s + sort {sort_time:.1f} s) "
        f"= {lines / max(add_time + sort_time, 1e-9):,.0f} lines/s; total {total:.1f} s; "
        f"ru_maxrss {rss_mb():,.0f} MB"
    )
    return h


def run(engine: Engine, n: int, seed: int, patients, start: date, history, trace: bool) -> dict:
    gc.collect()
    t0 = time.perf_counter()
    claims = synth.generate_encounters(
        n, seed, with_lines=True, start=start, days=365, patients=patients, engine=engine
    )
    gen = time.perf_counter() - t0
    gc.collect()

    lat: list[float] = []
    results = []
    statuses = {"clean": 0, "warning": 0, "error": 0}
    t_all = time.perf_counter()
    c_all = time.process_time()
    for enc in claims:
        t = time.perf_counter()
        r = scrub_encounter(enc, engine, history=history)
        lat.append(time.perf_counter() - t)
        results.append(r)
        statuses[r.status] += 1
    wall = time.perf_counter() - t_all
    cpu = time.process_time() - c_all
    rss_after = rss_mb()
    del results
    gc.collect()

    peak_mb = float("nan")
    if trace:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        kept = [scrub_encounter(enc, engine, history=history) for enc in claims]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        peak_mb = (peak - base) / 2**20
        del kept
    lat.sort()
    out = {
        "claims": n,
        "generate_s": gen,
        "scrub_s": wall,
        "claims_per_s": n / wall,
        "claims_per_cpu_s": n / cpu,
        "p50_ms": pct(lat, 0.50) * 1e3,
        "p99_ms": pct(lat, 0.99) * 1e3,
        "max_ms": lat[-1] * 1e3,
        "mean_ms": statistics.fmean(lat) * 1e3,
        "tracemalloc_peak_mb": peak_mb,
        "ru_maxrss_mb": rss_after,
        "statuses": statuses,
    }
    label = "with history" if history is not None else "no history"
    print(
        f"{n:>9,} claims ({label}): generate {gen:.1f} s | scrub {wall:.1f} s = {out['claims_per_s']:,.0f} "
        f"claims/s ({out['claims_per_cpu_s']:,.0f} per CPU-second) | p50 {out['p50_ms']:.2f} ms, p99 {out['p99_ms']:.2f} ms, max {out['max_ms']:.1f} ms | "
        f"tracemalloc peak {peak_mb:,.1f} MB (scrub + kept results) | ru_maxrss {rss_after:,.0f} MB | "
        f"{statuses}"
    )
    return out


_NEWER_FIELDS = ("unreadable_numbers", "claim_id_also_at")


def _write_jsonl(path: Path, encounters) -> str:
    digest = hashlib.blake2b(digest_size=8)
    with path.open("w", encoding="utf-8") as f:
        for enc in encounters:
            # fields an older engine (--compare) does not know are left out when unset
            text = enc.model_dump_json(exclude={k for k in _NEWER_FIELDS if getattr(enc, k, None) is None})
            digest.update(text.encode())
            f.write(text + "\n")
    return digest.hexdigest()


def _read_jsonl(path: Path):
    """The encounters of a JSON-lines file, one at a time (a million-line history is not held twice)."""
    from painrcm.model import Encounter

    with path.open(encoding="utf-8") as f:
        for line in f:
            yield Encounter.model_validate_json(line)


def child(args: argparse.Namespace) -> int:
    """One engine (whatever `painrcm` this interpreter imports) on the claims and history of --data."""
    import painrcm

    data = Path(args.data)
    engine = Engine(load_reference(), load_policies())
    claims = list(_read_jsonl(data / "claims.jsonl"))
    history = None
    if (data / "history.jsonl").exists():
        history = History()
        for enc in _read_jsonl(data / "history.jsonl"):
            history.add(enc, engine.reference)
        history._ensure_sorted()
    for enc in claims[: min(200, len(claims))]:  # warm the caches every engine fills on first use
        scrub_encounter(enc, engine, history=history)
    gc.collect()
    lat: list[float] = []
    results = []
    c0 = time.process_time()
    for enc in claims:
        t = time.perf_counter()
        results.append(scrub_encounter(enc, engine, history=history))
        lat.append(time.perf_counter() - t)
    cpu = time.process_time() - c0
    digest = hashlib.blake2b(digest_size=8)
    for r in results:
        digest.update(r.model_dump_json().encode())
    del results
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    kept = [scrub_encounter(enc, engine, history=history) for enc in claims]
    peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    tracemalloc.stop()
    del kept
    lat.sort()
    compiled = sorted(
        name for name, m in sys.modules.items()
        if name.startswith("painrcm") and not str(getattr(m, "__file__", "") or "").endswith(".py")
    )  # fmt: skip
    out = {
        "src": str(Path(painrcm.__file__).resolve().parent.parent),
        "compiled": len(compiled),
        "claims": len(claims),
        "claims_per_cpu_s": len(claims) / cpu,
        "p50_ms": pct(lat, 0.50) * 1e3,
        "p99_ms": pct(lat, 0.99) * 1e3,
        "tracemalloc_peak_mb": peak,
        "ru_maxrss_mb": rss_mb(),
        "results": digest.hexdigest(),
    }
    print("RESULT " + json.dumps(out))
    return 0


def compare(args: argparse.Namespace, engine: Engine, patients: list, start: date) -> int:
    other = Path(args.compare).resolve()
    if not (other / "painrcm" / "__init__.py").exists():
        print(f"--compare {args.compare}: no painrcm package there (give the other tree's src folder)")
        return 2
    import painrcm

    # "after" is the engine this interpreter imports: this tree's src, or a compiled copy of it first
    # on PYTHONPATH (bench/mypyc.sh)
    here = Path(painrcm.__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="scrub-bench-") as tmp:
        data = Path(tmp)
        n = max(args.claims)
        claims = synth.generate_encounters(
            n, args.seed + n, with_lines=True, start=start, days=365, patients=patients, engine=engine
        )
        print(f"claims: {n:,}, digest {_write_jsonl(data / 'claims.jsonl', claims)}")
        del claims
        if args.history:
            it = synth.iter_history(
                args.history, args.seed + 1, patients=patients, end=start, days=730, engine=engine
            )
            print(f"history: about {args.history:,} lines, digest {_write_jsonl(data / 'history.jsonl', it)}")
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for r in range(args.rounds):
            for label, src in (("before", other), ("after", here)):
                env = {**os.environ, "PYTHONPATH": str(src)}
                cmd = [sys.executable, __file__, "--child", str(data)]
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                found = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
                if proc.returncode or not found:
                    print(f"{label} ({src}) failed:\n{proc.stdout}\n{proc.stderr}")
                    return 1
                res = json.loads(found[-1][len("RESULT ") :])
                runs[label].append(res)
                print(
                    f"round {r + 1} {label:6} {res['src']}"
                    + (f" ({res['compiled']} compiled modules)" if res.get("compiled") else "")
                    + f": {res['claims_per_cpu_s']:,.0f} claims/CPU-s | "
                    f"p50 {res['p50_ms']:.3f} ms, p99 {res['p99_ms']:.3f} ms | tracemalloc peak "
                    f"{res['tracemalloc_peak_mb']:,.1f} MB | ru_maxrss {res['ru_maxrss_mb']:,.0f} MB | "
                    f"results {res['results']}"
                )
    med = {k: {f: statistics.median(r[f] for r in v) for f in ("claims_per_cpu_s", "p50_ms", "p99_ms",
           "tracemalloc_peak_mb", "ru_maxrss_mb")} for k, v in runs.items()}  # fmt: skip
    b, a = med["before"], med["after"]
    label = f"history of {args.history:,} lines" if args.history else "no history"
    print(
        f"{n:,} claims, {label}, median of {args.rounds} round(s): "
        f"before {b['claims_per_cpu_s']:,.0f} -> after {a['claims_per_cpu_s']:,.0f} claims/CPU-s "
        f"(x{a['claims_per_cpu_s'] / b['claims_per_cpu_s']:.2f}); "
        f"p50 {b['p50_ms']:.3f} -> {a['p50_ms']:.3f} ms; p99 {b['p99_ms']:.3f} -> {a['p99_ms']:.3f} ms; "
        f"tracemalloc peak {b['tracemalloc_peak_mb']:,.1f} -> {a['tracemalloc_peak_mb']:,.1f} MB; "
        f"ru_maxrss {b['ru_maxrss_mb']:,.0f} -> {a['ru_maxrss_mb']:,.0f} MB"
    )
    same = {r["results"] for v in runs.values() for r in v}
    print("results identical (same digest of every ClaimResult)" if len(same) == 1 else
          f"results DIFFER between the engines: {sorted(same)}")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, nargs="+", default=[1000, 100_000], help="claim counts to run")
    ap.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="N",
        help="also build a history of N service lines and scrub against it",
    )
    ap.add_argument(
        "--patients",
        type=int,
        default=0,
        help="patient pool (default: history lines / 12, or claims / 3 without history)",
    )
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--no-tracemalloc", action="store_true", help="skip the traced pass")
    ap.add_argument(
        "--compare",
        metavar="SRC",
        help="before/after in one run: also scrub the same claims with the painrcm under SRC "
        "(another checkout's src folder), each engine in its own child process",
    )
    ap.add_argument("--rounds", type=int, default=1, help="with --compare: alternating rounds (median)")
    ap.add_argument("--child", metavar="DATA", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        args.data = args.child
        return child(args)

    print(
        f"painrcm scrub benchmark: Python {platform.python_version()} on {platform.machine()} "
        f"({platform.processor() or platform.platform()}), one process, one core"
    )
    t0 = time.perf_counter()
    engine = Engine(load_reference(), load_policies())
    print(f"engine load {time.perf_counter() - t0:.2f} s; ru_maxrss {rss_mb():,.0f} MB")
    start = synth.DEFAULT_START + timedelta(days=1)
    trace = not args.no_tracemalloc

    pool_size = args.patients or max(1000, args.history // 12 if args.history else max(args.claims) // 3)
    patients = synth.make_patients(pool_size, args.seed)
    if args.compare:
        return compare(args, engine, patients, start)
    history = None
    if args.history:
        # the claims being scrubbed belong to the same patients as the history
        history = build_history(engine, args.history, patients, args.seed + 1, start)
    for n in args.claims:
        if history is not None:
            # the no-history figure for the same claims, to compare against
            run(engine, n, args.seed + n, patients, start, None, trace)
        run(engine, n, args.seed + n, patients, start, history, trace)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
