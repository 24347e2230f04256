"""The history path's structure answers as its plain readings do, on generated claims and histories:

- `services_of` groups a claim's lines by (family, region, date) and builds each service once; the
  plain reading makes one service per line and merges those of one (family, region, date) in line
  order (`_merged`: the first line's facts stand, what it leaves unknown the next gives, codes and
  line sites add up);
- the index keeps a key's rows as date ordinal << 32 | row, sorted, and keys reaching the same rows
  share one array after a sort: whatever order encounters are added and asked in (adds after
  questions copy the shared arrays apart first), every window answers as a scan of the services
  filed under the patient's keys;
- NEC001's `_covering` (one pass over a block's sites) is the covers test and the lowest relief of
  the covering sites, else the block's own relief.
"""

from __future__ import annotations

import os
import random
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from painrcm import synth
from painrcm.edits.nec001 import _covering
from painrcm.history import History, Service, _merged, identity_keys, services_of
from painrcm.model import Encounter
from tests.support import ENGINE

ENG = ENGINE.engine
START = synth.DEFAULT_START + timedelta(days=1)
SETTINGS = settings(
    max_examples=int(os.environ.get("PAINRCM_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


def _plain_services(enc: Encounter) -> list[Service]:
    """One service per billed line (`services_of` of the line alone), merged per (family, region,
    date) in line order."""
    out: dict[tuple[str, str | None, date], Service] = {}
    for ln in enc.lines or []:
        for svc in services_of(enc, ENG.reference, lines=[ln]):
            key = (svc.family, svc.region, svc.date)
            out[key] = svc if key not in out else _merged(out[key], svc)
    return list(out.values())


def _varied(enc: Encounter, rng: random.Random) -> Encounter:
    """The claim with lines repeated, reordered, dated, given KX or an authorization number: the
    cases where lines of one service merge."""
    lines = [ln.model_copy(deep=True) for ln in enc.lines or []]
    lines += [ln.model_copy(deep=True) for ln in rng.sample(lines, k=min(len(lines), rng.randint(0, 3)))]
    rng.shuffle(lines)
    for ln in lines:
        roll = rng.random()
        if roll < 0.2:
            ln.modifiers = [*ln.modifiers, "KX"]
        elif roll < 0.3:
            ln.authorization_number = f"A{rng.randint(1, 3)}"
        elif roll < 0.4:
            ln.date_of_service = enc.date_of_service - timedelta(days=rng.randint(0, 1))
        elif roll < 0.5:
            ln.modifiers = [m for m in ln.modifiers if m not in ("RT", "LT", "50")] + [
                rng.choice(("RT", "LT"))
            ]
    procedures = list(enc.procedures)
    if procedures and rng.random() < 0.3:
        procedures = [] if rng.random() < 0.5 else procedures + procedures[:1]
    return enc.model_copy(update={"lines": lines, "procedures": procedures})


@SETTINGS
@given(seed=st.integers(0, 10_000))
def test_services_of_equals_one_service_per_line_merged(seed: int) -> None:
    rng = random.Random(seed)
    patients = synth.make_patients(30, seed)
    for enc in synth.generate_encounters(40, seed, start=START, days=60, patients=patients, engine=ENG):
        claim = _varied(enc, rng)
        assert services_of(claim, ENG.reference) == _plain_services(claim)


def _scan(filed: list[tuple[list[str], Encounter, list[Service]]], patient, start, end, exclude) -> list:
    """The services of every encounter filed under one of the patient's keys, in date order (one date:
    in the order they were filed), start < date <= end, the excluded encounter left out."""
    keys = set(identity_keys(patient))
    found = [
        svc
        for enc_keys, enc, services in filed
        if keys & set(enc_keys) and enc.encounter_id != exclude
        for svc in services
        if (start is None or svc.date > start) and (end is None or svc.date <= end)
    ]
    return sorted(found, key=lambda s: s.date)


@SETTINGS
@given(seed=st.integers(0, 10_000), batches=st.integers(1, 4))
def test_windows_answer_as_a_scan_whatever_the_order_of_adds_and_questions(seed: int, batches: int) -> None:
    rng = random.Random(seed)
    patients = synth.make_patients(12, seed)
    encs = list(synth.iter_history(300, seed, patients=patients, engine=ENG))
    rng.shuffle(encs)  # not in date order: the sort orders them
    h = History()
    filed: list[tuple[list[str], Encounter, list[Service]]] = []
    cut = sorted(rng.sample(range(1, len(encs)), k=min(batches - 1, len(encs) - 1)))
    for part in (encs[a:b] for a, b in zip([0, *cut], [*cut, len(encs)], strict=True)):
        for enc in part:
            services = services_of(enc, ENG.reference)
            h.add(enc, ENG.reference, services)
            if services:
                filed.append((identity_keys(enc.patient), enc, services))
        # questions between batches: the index sorts, shares arrays, and copies them apart on the next add
        for enc in rng.sample(encs, 8):
            day = enc.date_of_service + timedelta(days=rng.randint(-60, 60))
            start = rng.choice((None, day - timedelta(days=rng.randint(1, 400))))
            exclude = rng.choice((None, enc.encounter_id))
            want = _scan(filed, enc.patient, start, day, exclude)
            assert list(h.services(enc.patient, start=start, end=day, exclude_encounter=exclude)) == want
            past = h.past(enc.patient, end=day, exclude_encounter=exclude)
            assert past.services(start, day) == want
            assert past.rows == h.rows(enc.patient, end=day, exclude_encounter=exclude)
    shared = [k for k in h._by_key if any(h._by_key[k] is h._by_key[o] for o in h._by_key if o != k)]
    assert shared  # a patient's member and name keys reach the same rows: one array


_SITE = st.tuples(
    st.sampled_from(("", "L3-L4", "L4-L5", "L5-S1")),
    st.sampled_from(("?", "R", "L")),
    # reliefs are floats, as the Procedure model makes them (an int 40 is read as 40.0); the compiled
    # build keeps a float local as a C double, so an int relief could not come back as an int there
    st.one_of(st.none(), st.sampled_from((40.0, 50.0, 80.0, 95.5))),
)


@SETTINGS
@given(
    sites=st.lists(_SITE, max_size=6),
    relief=st.one_of(st.none(), st.sampled_from((30.0, 85.0))),
    level=st.sampled_from(("", "L4-L5", "L5-S1")),
    side=st.sampled_from(("?", "R", "L")),
)
def test_covering_is_the_covers_test_and_the_lowest_relief_there(sites, relief, level, side) -> None:
    block = Service("E", None, START, "facet_joint", "lumbar_sacral", "diagnostic", relief, None, None, (), None, None, None, tuple(sites))  # fmt: skip
    covering = [
        s
        for s in (block.sites or (("", "?", None),))
        if ("?" in (s[1], side) or s[1] == side) and ("" in (s[0], level) or s[0] == level)
    ]
    values = [r for _, _, r in covering if r is not None]
    covers, got = _covering(block, (level, side))
    assert covers == bool(covering)
    want = min(values) if values else relief
    assert got == want and type(got) is type(want)
