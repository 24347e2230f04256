"""The claim's past as the history edits read it (`History.past`, `Past`) answers as a plain reading
of `History.services` would: the same services per window (and per family), and the frequency
count (`Past.sessions`, the one count `history.limits.standing` and the FRQ edits make) equal to
filtering the services by family, codes, region and purpose."""

from __future__ import annotations

import random
from datetime import date, timedelta

from painrcm import synth
from painrcm.dates import add_months
from painrcm.history import History, Service
from painrcm.history.limits import standing
from tests.support import ENGINE

ENG = ENGINE.engine
FAMILIES = ("epidural_transforaminal", "epidural_interlaminar", "facet_joint", "radiofrequency_ablation")


def _history() -> tuple[History, list]:
    patients = synth.make_patients(80, 11)
    encs = list(synth.iter_history(2500, 12, patients=patients, engine=ENG))
    return History.from_encounters(encs, ENG.reference), encs


def _scan(
    found: list[Service],
    start: date,
    end: date,
    families: tuple[str, ...],
    codes: tuple[str, ...],
    region: str | None,
    any_region: bool,
    purpose: str | None,
) -> tuple[set[date], set[date]]:
    mine = [
        s
        for s in found
        if start < s.date <= end
        and s.family in families
        and (not codes or any(c in codes for c in s.codes))
        and (any_region or s.region == region)
    ]
    known = {s.date for s in mine if purpose is None or s.purpose == purpose}
    unknown = {s.date for s in mine if purpose is not None and s.purpose is None}
    return known, unknown


def test_past_windows_and_sessions_match_the_services() -> None:
    h, encs = _history()
    rng = random.Random(4)
    counted = 0
    for enc in rng.sample(encs, 200):
        end = enc.date_of_service + timedelta(days=rng.randint(-20, 20))
        exclude = rng.choice((None, enc.encounter_id))
        every = list(h.services(enc.patient, end=end, exclude_encounter=exclude))
        past = h.past(enc.patient, end=end, exclude_encounter=exclude)
        assert [h.service(i) for i in h.rows(enc.patient, end=end, exclude_encounter=exclude)] == every
        for _ in range(4):
            start = rng.choice((None, add_months(end, -rng.choice((1, 6, 12, 24)))))
            window = [s for s in every if start is None or s.date > start]
            assert past.services(start, end) == window
            family = rng.choice(FAMILIES)
            assert past.services(start, end, family) == [s for s in window if s.family == family]
            if start is None:
                continue
            families = tuple(rng.sample(FAMILIES, rng.randint(1, 2)))
            codes = rng.choice(((), ("64483",), ("64493", "64494", "64635")))
            region = rng.choice((None, "lumbar_sacral", "cervical_thoracic"))
            any_region = rng.random() < 0.3
            purpose = rng.choice((None, "diagnostic", "therapeutic"))
            got = past.sessions(start, end, families, codes, region, any_region, purpose)
            assert got == _scan(every, start, end, families, codes, region, any_region, purpose)
            counted += len(got[0]) + len(got[1])
    assert counted > 100  # the questions found sessions


def test_standing_counts_as_a_scan_of_the_services() -> None:
    h, encs = _history()
    for enc in encs[::50]:
        policy = ENG.policy_for(enc)
        on = enc.date_of_service
        rows = standing(h, enc.patient, policy, on)
        every = list(h.services(enc.patient, end=on))
        i = 0
        for limit in policy.frequency:
            start = add_months(on, -limit.window_months)
            for region in ("cervical_thoracic", "lumbar_sacral") if limit.per_region else (None,):
                known, unknown = _scan(
                    every,
                    start,
                    on,
                    tuple(limit.families),
                    tuple(limit.codes),
                    region,
                    not limit.per_region,
                    limit.purpose,
                )
                row = rows[i]
                assert (row.limit_id, row.region) == (limit.id, region)
                assert row.session_dates == sorted(known) and row.used == len(known)
                assert row.unknown_purpose_dates == sorted(unknown - known)
                i += 1
        assert i == len(rows)


def test_add_months_is_the_same_calendar_day_or_the_months_last() -> None:
    import calendar

    d = date(2023, 1, 1)
    while d < date(2025, 1, 1):
        for months in (-24, -12, -6, -1, 0, 1, 6, 12, 24):
            y, m = divmod(d.month - 1 + months, 12)
            year, month = d.year + y, m + 1
            want = date(year, month, min(d.day, calendar.monthrange(year, month)[1]))
            assert add_months(d, months) == want
        d += timedelta(days=1)
