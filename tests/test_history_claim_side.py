"""The claim's side of the history questions answers as the plain readings do, on generated claims:
its own services from the facts its context already holds (`ClaimContext.own_services`) equal
`services_of` reading the encounter alone; the limits a claim's lines may fall under, looked up
per family from a table made once per policy, are those whose families meet the lines'; and the
index's set of filed encounter IDs never loses one, so leaving a claim's own encounter out of its
past still finds every row of it."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from painrcm import synth
from painrcm.edits.base import ClaimContext
from painrcm.edits.frequency import _billed_limits
from painrcm.history import History, services_of
from tests.support import ENGINE

ENG = ENGINE.engine
START = synth.DEFAULT_START + timedelta(days=1)


def _contexts(history: History | None = None) -> list[ClaimContext]:
    patients = synth.make_patients(300, 21)
    claims = synth.generate_encounters(1500, 22, start=START, days=365, patients=patients, engine=ENG)
    return [
        ClaimContext(enc, enc.lines, ENG.reference, ENG.policy_for(enc), history=history) for enc in claims
    ]


def test_own_services_from_the_context_equal_services_of_the_encounter() -> None:
    contexts = _contexts()
    for ctx in contexts:
        assert ctx.own_services == services_of(ctx.encounter, ENG.reference, lines=ctx.lines)
    assert sum(len(ctx.own_services) for ctx in contexts) > 1000
    # a claim without lines: its notes stand for its sessions
    ctx = next(c for c in contexts if c.encounter.procedures)
    bare = ClaimContext(ctx.encounter, [], ENG.reference, ctx.policy)
    assert bare.own_services == services_of(ctx.encounter, ENG.reference, lines=[])
    assert bare.own_services


def test_billed_limits_are_those_whose_families_meet_the_lines() -> None:
    found = 0
    for ctx in _contexts():
        families = {info.family for info in ctx.infos if info is not None and info.family}
        want = [limit for limit in ctx.policy.frequency if not families.isdisjoint(limit.families)]
        assert _billed_limits(ctx) == want
        found += len(want)
    assert found > 500


def test_every_filed_encounter_is_held_and_its_rows_are_left_out() -> None:
    patients = synth.make_patients(150, 23)
    encs = list(synth.iter_history(4000, 24, patients=patients, engine=ENG))
    h = History.from_encounters(encs, ENG.reference)
    assert len(h._enc_id) > 1000  # past the first size of the set: it grew
    assert all(e in h._filed for e in h._enc_id)
    unfiled = [f"X{i}" for i in range(2000)]
    assert sum(x in h._filed for x in unfiled) < 400  # most IDs never filed are told apart
    for enc in encs[::37]:
        rows = h.rows(enc.patient, exclude_encounter=enc.encounter_id)
        assert rows
        assert all(h._enc_id[h._enc[i]] != enc.encounter_id for i in rows)
        kept = h.rows(enc.patient)
        assert [i for i in kept if h._enc_id[h._enc[i]] != enc.encounter_id] == rows


def test_a_copy_in_another_process_still_holds_every_filed_encounter(tmp_path: Path) -> None:
    # str hashes differ between processes (PYTHONHASHSEED): the copy must hash the IDs again
    patients = synth.make_patients(40, 25)
    encs = list(synth.iter_history(1500, 26, patients=patients, engine=ENG))
    h = History.from_encounters(encs, ENG.reference)
    (tmp_path / "h.pickle").write_bytes(pickle.dumps(h))
    code = (
        "import pickle, sys; h = pickle.loads(open(sys.argv[1], 'rb').read()); "
        "print(sum(e not in h._filed for e in h._enc_id))"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "h.pickle")],
            check=False,
            env=env,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "0"
