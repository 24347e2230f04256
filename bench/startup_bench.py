"""Start-up benchmark (issue 13 item 4): how long a single `painrcm` command takes, end to end.

Not part of the test suite. Runs each command N times as a fresh process (the way a user runs it) and
reports the median and minimum wall time and the median CPU time (user + system of the child, from
`os.wait4`): on a shared machine the CPU time is the steadier figure. Goals on the project's 2-core box:
`--help` and `explain BUN001` under 0.3 s, a one-claim `scrub` under 0.6 s.

    .venv/bin/python bench/startup_bench.py            # 15 runs of each command
    .venv/bin/python bench/startup_bench.py -n 30 --importtime   # also the slowest imports of each

`--src DIR` runs another checkout's sources with this interpreter (PYTHONPATH=DIR), for a before/after
comparison in one run, e.g. a `git archive` of main unpacked in /tmp.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLAIM = ROOT / "src" / "painrcm" / "demo" / "data" / "claims" / "01-clean-tfesi-coded.json"
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "explain BUN001": ["explain", "BUN001"],
    "edits": ["edits"],
    "scrub (1 claim)": ["scrub", str(CLAIM)],
    "scrub --json (1 claim)": ["scrub", "--json", str(CLAIM)],
    "code (1 claim)": ["code", str(CLAIM)],
}
LAUNCH = "import sys; from painrcm.cli import main; sys.argv[0] = 'painrcm'; sys.exit(main())"


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return wall, usage.ru_utime + usage.ru_stime


def _importtime(argv: list[str], env: dict[str, str], top: int = 6) -> list[str]:
    out = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, env=env, check=False
    )
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    total = max((us for us, _ in rows), default=0)
    tops = sorted((r for r in rows if r[1].startswith("  ") and not r[1].startswith("   ")), reverse=True)
    return [f"imports {total / 1e6:.3f} s; largest: "] + [
        f"    {us / 1e6:.3f} s {n.strip()}" for us, n in tops[:top]
    ]


def _measure(argv: list[str], envs: list[dict[str, str]], n: int) -> list[tuple[list[float], list[float]]]:
    """n runs of `argv` under each environment, interleaved (so a busy machine slows them alike)."""
    for env in envs:
        _run(argv, env)  # warm the file cache (and the byte-code cache when it may be written)
    out: list[tuple[list[float], list[float]]] = [([], []) for _ in envs]
    for _ in range(n):
        for (walls, cpus), env in zip(out, envs, strict=True):
            wall, cpu = _run(argv, env)
            walls.append(wall)
            cpus.append(cpu)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=15, help="runs per command (default 15)")
    ap.add_argument("--src", type=Path, help="run the painrcm sources in this folder instead")
    ap.add_argument("--compare", type=Path, help="also run the sources in this folder, interleaved")
    ap.add_argument("--importtime", action="store_true", help="show the slowest top-level imports")
    ap.add_argument("-k", help="only commands whose name contains this")
    args = ap.parse_args()

    env = dict(os.environ)
    env.setdefault("PAINRCM_HOME", tempfile.mkdtemp(prefix="painrcm-bench-home-"))
    if args.src:
        env["PYTHONPATH"] = str(args.src.resolve())
    envs, names = [env], [str(args.src or "installed")]
    if args.compare:
        envs.append({**env, "PYTHONPATH": str(args.compare.resolve())})
        names.append(str(args.compare))
    pyc = "not written (PYTHONDONTWRITEBYTECODE)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "cached"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
          f"byte code {pyc}; {args.n} runs each")  # fmt: skip
    print(f"{'command':<24} {'sources':<22} {'wall median':>11} {'wall min':>9} {'cpu median':>11}")
    for name, cmd in COMMANDS.items():
        if args.k and args.k not in name:
            continue
        argv = [sys.executable, "-c", LAUNCH, *cmd]
        for src, (walls, cpus) in zip(names, _measure(argv, envs, args.n), strict=True):
            print(
                f"{name:<24} {src[-22:]:<22} {statistics.median(walls):>10.3f}s {min(walls):>8.3f}s "
                f"{statistics.median(cpus):>10.3f}s"
            )
        if args.importtime:
            for e in envs:
                for line in _importtime(argv, e):
                    print("   ", line)


if __name__ == "__main__":
    main()
