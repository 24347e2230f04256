"""X12 reader benchmark (a script, not a test): MB/s and claims/s for large 837P and 835 files.

    .venv/bin/python bench/x12_bench.py                    # 20,000 claims each
    .venv/bin/python bench/x12_bench.py --claims 5000 --pyx12-claims 500

It generates an 837P (painrcm's writer, synthetic pain-management encounters, 3 service lines each)
and an 835 (one claim per 837 claim, CAS/AMT/REF*6R/LQ per line, a PLB) and times, on one core:

- the floor: a bare loop splitting on the segment terminator and the element separator (it keeps
  nothing); then the same split keeping every segment's element list, which any reader that looks
  at segments in context must pay;
- painrcm's tokenizer with envelope checks (``tokenize``);
- painrcm's validating readers (``read_837``: loops, order, required segments, elements, Encounter
  models; ``read_835``: Remittance models) and the 835 explainer;
- pyx12 4.0.0 (if installed): its segment reader (``X12Reader``) and its validator
  (``x12n_document``, the full implementation-guide validation). pyx12 is slow, so it runs on the
  first ``--pyx12-claims`` claims (a complete, smaller file written the same way); its rates are
  per MB and per claim, so they compare directly.

Each timing is the median CPU time of ``--repeat`` runs; the last lines sum up the ratios to the bare
loop measured in this one run (issue 13: the 837P reader at most 3x, the 835 reader at most 5x).
``--compare SRC`` also times the 837P and 835 readers of another source tree (e.g. main unpacked with
``git archive main | tar -x -C /tmp/painrcm-main``, then ``--compare /tmp/painrcm-main/src``): its
``reader837.py``, ``reader835.py``, ``loops837.py`` and ``segments.py`` are loaded beside this tree's,
and each reader is timed interleaved with the other tree's and the bare loop (run by run), so before
and after are measured in the same run.
``--ref REV`` also times the 837P reader of another git revision (``git show REV:...reader837.py``,
loaded beside this one) against the bare loop and this reader, the three interleaved run by run:
before and after in one run. Files are written to bench/out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import platform
import subprocess
import sys
import time
import types
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from random import Random

from painrcm.gcpause import no_gc
from painrcm.model import Encounter, Line, Patient, Payer, Practice, Provider
from painrcm.remit.explain import explain_remittance
from painrcm.x12.reader835 import read_835
from painrcm.x12.reader837 import read_837
from painrcm.x12.segments import split_segments, tokenize
from painrcm.x12.writer837 import write_837

OUT = Path(__file__).resolve().parent / "out"
NOW = datetime(2026, 4, 1, 12, 0)

PROCS = [
    ("64483", ["RT"], 900.0),
    ("64484", ["RT"], 300.0),
    ("77003", [], 120.0),
    ("64493", ["LT"], 700.0),
    ("64494", ["LT"], 250.0),
    ("62321", [], 850.0),
    ("64635", ["RT"], 1500.0),
    ("64636", ["RT"], 500.0),
    ("20552", [], 150.0),
    ("27096", ["50"], 600.0),
    ("99214", ["25"], 180.0),
    ("J3301", [], 12.0),
]
DX = ["M54.16", "M51.16", "M47.816", "M54.2", "M53.3", "G89.29", "M79.18", "M48.062"]
PLANS = ["medicare", "medicare_advantage", "medicaid", "commercial"]


def encounters(n: int, seed: int = 7) -> list[Encounter]:
    rnd = Random(seed)
    out = []
    for i in range(n):
        dos = date(2026, 1, 1) + timedelta(days=rnd.randrange(80))
        lines = []
        for k in range(3):
            code, mods, charge = rnd.choice(PROCS)
            lines.append(
                Line(
                    code=code,
                    modifiers=list(mods),
                    units=1,
                    diagnosis_pointers=[1, 2][: rnd.randint(1, 2)],
                    date_of_service=dos,
                    charge=charge,
                    control_number=f"C{i:06d}-{k + 1}",
                )
            )
        out.append(
            Encounter(
                encounter_id=f"E{i:07d}",
                # a billing company's file: runs of 500 claims per billing provider
                practice=Practice(
                    npi="1245319599",
                    name="MESA SPINE AND PAIN",
                    tax_id="741234567",
                    kind=("physician", "asc")[(i // 500) % 2],  # type: ignore[arg-type]
                    state=("CA", "TX", "NV")[(i // 1000) % 3],
                ),
                rendering_provider=Provider(npi="1679576722", name="R ALVAREZ"),
                patient=Patient(
                    member_id=f"M{rnd.randrange(10**9):09d}",
                    last_name=f"PATIENT{i % 997}",
                    first_name="TEST",
                    dob=date(1940, 1, 1) + timedelta(days=rnd.randrange(20000)),
                    sex=rnd.choice(["F", "M"]),
                ),
                payer=Payer(id=f"PAYER{rnd.randrange(20):02d}", plan=rnd.choice(PLANS)),  # type: ignore[arg-type]
                date_of_service=dos,
                place_of_service=rnd.choice(["11", "22", "24"]),
                diagnoses=rnd.sample(DX, 2),
                authorization_number=f"PA{i:06d}" if i % 3 == 0 else None,
                lines=lines,
            )
        )
    return out


def write_835(encs: list[Encounter], seed: int = 11) -> str:
    rnd = Random(seed)
    body: list[str] = [
        "ST*835*0001",
        "",
        "TRN*1*BENCH0001*1512345678",
        "DTM*405*20260401",
        "N1*PR*DEMO HEALTH PLAN",
        "N3*1 PAYER WAY",
        "N4*AUSTIN*TX*78701",
        "REF*2U*DEMO01",
        "PER*BL*TECH SUPPORT*TE*8005550199",
        "N1*PE*MESA SPINE AND PAIN*XX*1245319599",
        "LX*1",
    ]
    total = 0.0
    for enc in encs:
        lines = enc.lines or []
        billed = sum(ln.charge or 0 for ln in lines)
        svc: list[str] = []
        paid_claim = 0.0
        pr_claim = 0.0
        for ln in lines:
            charge = ln.charge or 0.0
            denied = rnd.random() < 0.15
            allowed = 0.0 if denied else round(charge * 0.4, 2)
            pr = 0.0 if denied else round(allowed * 0.2, 2)
            paid = round(allowed - pr, 2)
            code = ":".join(["HC", ln.code, *ln.modifiers])
            svc.append(f"SVC*{code}*{charge:.2f}*{paid:.2f}**1")
            svc.append(f"DTM*472*{(ln.date_of_service or enc.date_of_service):%Y%m%d}")
            if denied:
                svc.append(f"CAS*CO*{rnd.choice(['97', '236', '197', '50', '151'])}*{charge:.2f}")
                svc.append(f"REF*6R*{ln.control_number}")
                svc.append(f"LQ*HE*{rnd.choice(['N362', 'M80', 'N130', 'N115'])}")
            else:
                svc.append(f"CAS*CO*45*{charge - allowed:.2f}")
                if pr:
                    svc.append(f"CAS*PR*2*{pr:.2f}")
                svc.append(f"REF*6R*{ln.control_number}")
                svc.append(f"AMT*B6*{allowed:.2f}")
            paid_claim += paid
            pr_claim += pr
        status = "4" if paid_claim == 0 else "1"
        body.append(
            f"CLP*{enc.encounter_id}*{status}*{billed:.2f}*{paid_claim:.2f}*{pr_claim:.2f}*12*P{enc.encounter_id}"
        )
        body.append(
            f"NM1*QC*1*{enc.patient.last_name}*{enc.patient.first_name}****MI*{enc.patient.member_id}"
        )
        body.extend(svc)
        total += paid_claim
    body.append("PLB*1245319599*20261231*WO:BENCH*25.00")
    total -= 25.0
    body[1] = f"BPR*I*{total:.2f}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20260401"
    body.append(f"SE*{len(body) + 1}*0001")
    isa = "ISA*00*          *00*          *ZZ*PAYERID        *ZZ*PAINRCM        *260401*1200*^*00501*000000123*0*T*:"
    segs = [
        isa,
        "GS*HP*PAYERID*PAINRCM*20260401*1200*123*X*005010X221A1",
        *body,
        "GE*1*123",
        "IEA*1*000000123",
    ]
    return "~\n".join(segs) + "~\n"


def best(fn: Callable[[], object], repeat: int) -> float:
    """Median CPU time of ``repeat`` runs (CPU time: the machine is shared, wall time is not the
    program's)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.process_time()
        result = fn()
        times.append(time.process_time() - t)  # freeing the result afterwards is not reading time
        del result
    times.sort()
    return times[len(times) // 2]


def reader_at(rev: str) -> Callable[[str, str], object]:
    """``read_837`` as it is at git revision ``rev`` (the rest of painrcm as it is here)."""
    root = Path(__file__).resolve().parent.parent
    src = subprocess.run(
        ["git", "show", f"{rev}:src/painrcm/x12/reader837.py"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    name = f"_reader837_at_{abs(hash(rev))}"
    mod = types.ModuleType(name)
    sys.modules[name] = mod  # dataclasses look their module up
    exec(compile(src, f"{rev}:src/painrcm/x12/reader837.py", "exec"), mod.__dict__)  # noqa: S102 (our own source at REV)
    return mod.read_837  # type: ignore[no-any-return]


FAULTS: dict[str, int] = {}  # median minor page faults per run of each function of the last interleaved()


def interleaved(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median CPU time of each function, the functions taking turns run by run (on a shared machine
    the load then weighs on each alike). The median minor page faults of each run go to FAULTS: the
    first touch of new memory (what a reader leaves behind) is CPU time too, system time."""
    import resource

    times: dict[str, list[float]] = {k: [] for k in fns}
    faults: dict[str, list[int]] = {k: [] for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            f = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t = time.process_time()
            result = fn()
            times[name].append(time.process_time() - t)
            faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f)
            del result
    FAULTS.clear()
    FAULTS.update({k: sorted(v)[len(v) // 2] for k, v in faults.items()})
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


def faults(names: dict[str, str]) -> str:
    """``  page faults per run: bare loop N, ...`` for the functions of the last interleaved()."""
    return "  minor page faults per run (median): " + ", ".join(
        f"{label} {FAULTS[k]:,}" for k, label in names.items() if k in FAULTS
    )


def against_src(
    name: str,
    mine: Callable[[str, str], object],
    other: Callable[..., object],
    text: str,
    claims: int,
    repeat: int,
    ratios: dict[str, float],
) -> dict[str, float]:
    """This tree's reader and another tree's (--compare SRC), interleaved with the bare loop: their
    rows, page faults and ratios printed and recorded; the medians returned."""
    m = interleaved(
        {
            "bare": lambda: bare_loop(text),
            "other": lambda: other(text, "bench"),
            "now": lambda: mine(text, "bench"),
        },
        repeat,
    )
    size = len(text.encode())
    print(row(f"{name} of SRC (interleaved)", m["other"], size, claims, m["bare"]))
    print(row(f"{name} here (interleaved)", m["now"], size, claims, m["bare"]))
    print(faults({"bare": "bare loop", "other": f"{name} of SRC", "now": f"{name} here"}))
    ratios[f"{name} of SRC / bare loop (interleaved)"] = m["other"] / m["bare"]
    ratios[f"{name} here / bare loop (interleaved)"] = m["now"] / m["bare"]
    return m


def bare_loop(text: str) -> int:
    term = text[105]
    sep = text[3]
    n = 0
    for seg in text.split(term):
        n += len(seg.split(sep))
    return n


def split_keep(text: str) -> int:
    with no_gc():
        _, segs = split_segments(text, "bench")
        n = len(segs)
        del segs
    return n


def tokenize_only(text: str) -> int:
    with no_gc():
        tok = tokenize(text, "bench")
        n = len(tok.segments)
        tok.segments = []
    return n


def pyx12_reader(text: str) -> int:
    import pyx12.x12file

    n = 0
    for _seg in pyx12.x12file.X12Reader(io.StringIO(text)):
        n += 1
    return n


def pyx12_validate(text: str) -> bool:
    import pyx12.params
    import pyx12.x12n_document

    return bool(
        pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), io.StringIO(), None)
    )


def other_readers(src: Path) -> tuple[Callable[..., object], Callable[..., object]]:
    """``read_837`` and ``read_835`` of another source tree: its reader837.py and reader835.py with its
    own segments.py and loops837.py (the models are this tree's)."""
    import importlib.util

    x12 = src / "painrcm" / "x12"
    loaded: dict[str, types.ModuleType] = {}
    for name in ("segments", "loops837", "reader837", "reader835"):
        spec = importlib.util.spec_from_file_location(f"_compare_{name}", x12 / f"{name}.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[f"_compare_{name}"] = mod
        # the other readers import the other segments.py and loops837.py
        mine = {k: sys.modules[f"painrcm.x12.{k}"] for k in loaded}
        sys.modules.update({f"painrcm.x12.{k}": v for k, v in loaded.items()})
        try:
            spec.loader.exec_module(mod)
        finally:
            sys.modules.update({f"painrcm.x12.{k}": v for k, v in mine.items()})
        loaded[name] = mod
    return loaded["reader837"].read_837, loaded["reader835"].read_835


def row(name: str, seconds: float, size: int, claims: int, floor: float | None) -> str:
    mb = size / 1e6
    ratio = f"{seconds / floor:8.1f}x" if floor else "   floor "
    return f"  {name:<34} {seconds * 1000:10.1f} ms {mb / seconds:9.2f} MB/s {claims / seconds:12,.0f} claims/s {ratio}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=20000)
    ap.add_argument(
        "--pyx12-claims", type=int, default=1000, help="claims in the smaller file pyx12 reads (0: skip)"
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--compare", type=Path, metavar="SRC", help="also time the 835 reader of this source tree (its src/)"
    )
    ap.add_argument("--ref", help="also time the 837P reader of this git revision (e.g. main)")
    args = ap.parse_args()
    other_837, other_835 = other_readers(args.compare) if args.compare else (None, None)
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    OUT.mkdir(exist_ok=True)
    print(
        f"python {platform.python_version()} on {platform.machine()} ({platform.processor() or platform.system()})"
    )
    compiled = not str(getattr(sys.modules[read_837.__module__], "__file__", "")).endswith(".py")
    print(f"read_837: {'compiled (mypyc, bench/x12_mypyc.sh)' if compiled else 'pure Python'}")
    t = time.perf_counter()
    encs = encounters(args.claims)
    t837 = write_837(encs, now=NOW)
    t835 = write_835(encs)
    print(
        f"generated {args.claims:,} claims in {time.perf_counter() - t:.1f} s (test data, not product time)"
    )
    (OUT / "bench.837").write_text(t837, encoding="utf-8")
    (OUT / "bench.835").write_text(t835, encoding="utf-8")
    small = max(0, min(args.pyx12_claims, args.claims))
    s837 = write_837(encs[:small], now=NOW) if small else ""
    s835 = write_835(encs[:small]) if small else ""
    try:
        import pyx12  # noqa: F401

        have_pyx12 = small > 0
    except ImportError:
        have_pyx12 = False
        print("pyx12 not installed: its rows are skipped (pip install pyx12==4.0.0)")

    ratios: dict[str, float] = {}
    for kind, text, small_text, reader in (("837P", t837, s837, "837"), ("835", t835, s835, "835")):
        size = len(text.encode())
        n = args.claims
        print(f"\n{kind}: {n:,} claims, {size / 1e6:.2f} MB, {text.count(text[105])} segments")
        floor = best(lambda text=text: bare_loop(text), args.repeat)
        print(row("bare split loop", floor, size, n, None))
        tk = best(lambda text=text: split_keep(text), args.repeat)
        print(row("split and keep all segments", tk, size, n, floor))
        tt = best(lambda text=text: tokenize_only(text), args.repeat)
        print(row("painrcm tokenize + envelope checks", tt, size, n, floor))
        if reader == "837":
            r = read_837(text, "bench")
            assert len(r.claims) == n and not r.problems, (len(r.claims), r.problems[:3])
            tr = best(lambda text=text: read_837(text, "bench"), args.repeat)
            print(row("painrcm read_837 (validating)", tr, size, n, floor))
            ratios["read_837 / bare loop"] = tr / floor
            if other_837 is not None:
                assert other_837(text, "bench").claims == r.claims  # type: ignore[attr-defined]
                m = against_src("read_837", read_837, other_837, text, n, args.repeat, ratios)
                ratios["read_837 here / of SRC (interleaved)"] = m["now"] / m["other"]
            if args.ref:
                old = reader_at(args.ref)
                r0 = old(text, "bench")
                assert len(r0.claims) == n  # type: ignore[attr-defined]
                m = interleaved(
                    {
                        "bare": lambda text=text: bare_loop(text),
                        "ref": lambda text=text, old=old: old(text, "bench"),
                        "now": lambda text=text: read_837(text, "bench"),
                    },
                    max(args.repeat, 5),
                )
                print(row(f"read_837 at {args.ref} (interleaved)", m["ref"], size, n, m["bare"]))
                print(row("read_837 here (interleaved)", m["now"], size, n, m["bare"]))
                ratios[f"read_837 at {args.ref} / bare loop (interleaved)"] = m["ref"] / m["bare"]
                ratios["read_837 here / bare loop (interleaved)"] = m["now"] / m["bare"]
                ratios[f"read_837 here / at {args.ref}"] = m["now"] / m["ref"]
        else:
            r5 = read_835(text, "bench")
            assert len(r5.claims) == n
            tr = best(lambda text=text: read_835(text, "bench"), args.repeat)
            print(row("painrcm read_835", tr, size, n, floor))
            ratios["read_835 / bare loop"] = tr / floor
            if other_835 is not None:
                assert len(other_835(text, "bench").claims) == n  # type: ignore[attr-defined]
                against_src("read_835", read_835, other_835, text, n, args.repeat, ratios)
            te = best(lambda r5=r5: [explain_remittance(x) for x in r5.remittances], args.repeat)
            rep = explain_remittance(r5.remittances[0])
            assert rep.reconciliation.balanced, rep.reconciliation
            print(row("painrcm explain (after read)", te, size, n, floor))
        if have_pyx12:
            ssize = len(small_text.encode())
            sfloor = best(lambda small_text=small_text: bare_loop(small_text), args.repeat)
            tpr = best(lambda small_text=small_text: pyx12_reader(small_text), 1)
            print(row(f"pyx12 X12Reader ({small:,} claims)", tpr, ssize, small, sfloor))
            t0 = time.perf_counter()
            ok = pyx12_validate(small_text)
            tpv = time.perf_counter() - t0
            print(row(f"pyx12 validator ({small:,} claims)", tpv, ssize, small, sfloor) + f"  valid={ok}")
            ratios[f"pyx12 X12Reader ({kind}) / bare loop"] = tpr / sfloor
            ratios[f"pyx12 validator ({kind}) / bare loop"] = tpv / sfloor
    print("\nratios to the bare loop, this run (CPU time):")
    for name, r in ratios.items():
        print(f"  {name:<48} {r:8.2f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
