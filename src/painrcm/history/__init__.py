"""The patient's past, as the engine asks about it.

The engine never knows where history comes from (files today, the workspace database later): it
receives a `History` and asks window questions: "sessions of family F in region R for this patient
between these dates", "earlier diagnostic blocks with their relief", "claims that used
authorization A". Records are indexed by patient identity (RULES.md section 6) and kept sorted by
date, so a window question is a binary search plus the sessions it returns. A claim's history
edits share one question (`History.past`: the patient's rows up to the date of service); their
windows are binary searches inside it, and frequency counts read the index's columns directly
(`Past.sessions`) without making `Service` objects.
"""

from __future__ import annotations

import bisect
import functools
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date
from math import isnan
from typing import Any, NamedTuple

from painrcm.codes.tables import CodeInfo, Reference
from painrcm.model import Encounter, Line, Patient, Payer, Procedure
from painrcm.spine import code_family, lumbar_nerves_to_joints, parse_level, procedure_regions


def member_key(member_id: str | None, dob: date | None) -> str | None:
    """ "m:MEMBERID|dob" (the ID without spaces, upper case), None without either."""
    if not member_id or dob is None:
        return None
    return "m:" + "".join(member_id.split()).upper() + "|" + dob.isoformat()


def name_key(last: str | None, first: str | None, dob: date | None) -> str | None:
    """ "n:LAST|FIRST|dob" (names with their spaces collapsed, upper case), None without any."""
    if not last or not first or dob is None:
        return None
    return (
        "n:" + " ".join(last.split()).upper() + "|" + " ".join(first.split()).upper() + "|" + dob.isoformat()
    )


def identity_keys(p: Patient) -> list[str]:
    """Two records are one patient when member ID (ignoring case and spaces) and date of birth
    match, or last name, first name and date of birth match: the index keys of both, those the
    record gives (as the workspace stores them: `store.bulk.identity`)."""
    return [k for k in (member_key(p.member_id, p.dob), name_key(p.last_name, p.first_name, p.dob)) if k]


class Service(NamedTuple):
    """One procedure family on one date of service of one earlier claim.

    A named tuple, not a dataclass: window questions make these per claim, and a tuple is made
    several times faster than a frozen dataclass (fields, order and meaning are the same)."""

    encounter_id: str
    practice_id: str | None
    date: date
    family: str
    region: str | None  # cervical_thoracic | lumbar_sacral | None (not spinal)
    purpose: str | None  # diagnostic | therapeutic | None (unknown)
    relief_percent: float | None
    target: str | None
    stage: str | None
    codes: tuple[str, ...]
    authorization_number: str | None
    rendering_npi: str | None
    payer_id: str | None
    # (level, side, relief) of every site: level "" and side "?" when unknown (RFA site rules)
    sites: tuple[tuple[str, str, float | None], ...] = ()


def services_of(
    enc: Encounter,
    reference: Reference,
    lines: list[Line] | None = None,
    infos: list[CodeInfo | None] | None = None,
    procedure_facts: Sequence[tuple[str, Collection[str] | None]] | None = None,
) -> list[Service]:
    """What an earlier encounter contributes to history (`lines`: instead of the encounter's own).

    Billed lines say which families and regions were done; the procedure note, when there is one,
    adds purpose and relief. Without a note a facet line with KX is diagnostic (RULES.md 10).
    `infos` (the lines' code-table entries) and `procedure_facts` (each note's `code_family` and
    `procedure_regions`): when the caller has them already (the scrubber's claim context)."""
    billed = enc.lines if lines is None else lines
    docs = enc.procedures
    out: dict[tuple[str, str | None, date], Service] = {}
    enc_id, practice_id = enc.encounter_id, enc.practice.id
    npi, payer_id, auth, dos = (
        enc.rendering_provider.npi,
        enc.payer.id,
        enc.authorization_number,
        enc.date_of_service,
    )
    if billed:
        if infos is None:
            infos = [reference.info(ln.code) for ln in billed]
        # what the notes say of each (family, region) a line bills: the first matching note (purpose,
        # relief, target, stage) and the sites of every matching note, worked out once per pair
        by_kind: dict[
            tuple[str, str | None], tuple[Procedure | None, tuple[tuple[str, str, float | None], ...]]
        ] = {}
        for ln, info in zip(billed, infos, strict=True):
            if info is None or info.family is None:
                continue
            family, region = info.family, info.region
            kind = (family, region)
            found = by_kind.get(kind)
            if found is None:
                if procedure_facts is None:
                    procedure_facts = [(code_family(p), procedure_regions(p)) for p in docs]
                matching = [
                    p
                    for p, (fam, regions) in zip(docs, procedure_facts, strict=True)
                    if fam == family and (region is None or not regions or region in regions)
                ]
                found = by_kind[kind] = (
                    matching[0] if matching else None,
                    tuple(x for p in matching for x in sites_of(p, region)),
                )
            doc, doc_sites = found
            purpose: str | None = None
            relief: float | None = None
            target: str | None = None
            stage: str | None
            if doc is not None:
                purpose, relief, target, stage = doc.purpose, doc.relief_percent, doc.target, doc.stage
            else:
                stage = info.stages[0] if len(info.stages) == 1 else None
            if purpose is None and family == "facet_joint" and "KX" in ln.modifiers:
                purpose = "diagnostic"
            when = ln.date_of_service or dos
            svc = Service(
                enc_id,
                practice_id,
                when,
                family,
                region,
                purpose,
                relief,
                target,
                stage,
                (ln.code,),
                ln.authorization_number or auth,
                npi,
                payer_id,
                doc_sites or line_sites(ln),
            )
            key: tuple[str, str | None, date] = (family, region, when)
            prev = out.get(key)
            out[key] = svc if prev is None else _merged(prev, svc)
    else:
        for p in docs:
            noted: list[str | None] = [*sorted(procedure_regions(p) or ())] or [None]
            for where in noted:
                svc = Service(
                    enc_id,
                    practice_id,
                    dos,
                    p.family.value,
                    where,
                    p.purpose,
                    p.relief_percent,
                    p.target,
                    p.stage,
                    (),
                    auth,
                    npi,
                    payer_id,
                    sites_of(p, where),
                )
                key = (svc.family, where, dos)
                prev = out.get(key)
                out[key] = svc if prev is None else _merged(prev, svc)
    return list(out.values())


def _merged(prev: Service, svc: Service) -> Service:
    """A second service of the same family, region and date (another line, or another note): its codes
    and sites are added, and what the first left unknown is filled from it."""
    return Service(
        prev.encounter_id,
        prev.practice_id,
        prev.date,
        prev.family,
        prev.region,
        prev.purpose or svc.purpose,
        prev.relief_percent if prev.relief_percent is not None else svc.relief_percent,
        prev.target or svc.target,
        prev.stage or svc.stage,
        prev.codes + svc.codes,
        prev.authorization_number or svc.authorization_number,
        prev.rendering_npi,
        prev.payer_id,
        prev.sites + tuple(x for x in svc.sites if x not in prev.sites),
    )


_SIDE_LETTERS = {"right": ("R",), "left": ("L",), "bilateral": ("R", "L")}


def sites_of(proc: Procedure, region: str | None) -> tuple[tuple[str, str, float | None], ...]:
    """(level, side, relief) of a documented procedure's sites in `region` (joint levels for facet and RFA;
    lumbar medial-branch nerves become the joints they supply). Unknown parts are "" and "?"."""
    # the family as the member (a str): its .value would cost more than the cached call
    return _sites(proc.family, tuple(proc.levels or ()), proc.laterality, proc.relief_percent, region)


@functools.lru_cache(maxsize=4096, typed=True)  # typed: a relief of 85 stays 85, 85.0 stays 85.0
def _sites(
    family: str, given: tuple[str, ...], laterality: str | None, relief: float | None, region: str | None
) -> tuple[tuple[str, str, float | None], ...]:
    # the same few notes' facts recur on every claim and history record: worked out once each
    sides = _SIDE_LETTERS.get(laterality or "", ("?",))
    parsed = [lv for lv in (parse_level(x) for x in given) if lv is not None]
    singles = [lv for lv in parsed if not lv.is_joint]
    if family in ("facet_joint", "radiofrequency_ablation") and singles and len(singles) == len(parsed):
        parsed = lumbar_nerves_to_joints([lv.upper for lv in singles]) or parsed
    levels = [str(lv) for lv in parsed if region is None or lv.region == region]
    return tuple((lv, side, relief) for lv in (levels or [""]) for side in sides)


def line_sites(line: Line) -> tuple[tuple[str, str, float | None], ...]:
    mods = line.modifiers
    if "50" in mods or ("RT" in mods and "LT" in mods):
        return (("", "R", None), ("", "L", None))
    if "RT" in mods:
        return (("", "R", None),)
    if "LT" in mods:
        return (("", "L", None),)
    return (("", "?", None),)


class _Table:
    """Interned values: each distinct value once, referred to by its small integer index."""

    __slots__ = ("index", "values")

    def __init__(self) -> None:
        self.values: list[Any] = [None]
        self.index: dict[Any, int] = {None: 0}

    def id(self, value: Any) -> int:
        i = self.index.get(value)
        if i is None:
            i = self.index[value] = len(self.values)
            self.values.append(value)
        return i


_NO_RELIEF = float("nan")


class _MaybeFiled:
    """The encounter IDs of a list, as a bit set of their hashes (2-8 bytes per ID): an ID it does
    not hold is not in the list. The encounter a window question leaves out is usually the claim
    being scrubbed, not filed at all, and then no row has to be compared with it."""

    __slots__ = ("bits", "ids", "mask")

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.bits = bytearray()
        self.mask = 0
        self._widen()

    def __reduce__(self) -> tuple[type[_MaybeFiled], tuple[list[str]]]:
        # str hashes differ from one process to the next: a copy in another process hashes the IDs again
        return (_MaybeFiled, (self.ids,))

    def added(self) -> None:
        """The list's last ID was appended."""
        if 2 * len(self.ids) > len(self.bits):
            self._widen()
        else:
            self._set(self.ids[-1])

    def _widen(self) -> None:
        # a power of two, 4-8 bytes per ID: every ID's bit again (doubling: each is hashed a few times)
        self.bits = bytearray(max(1024, 1 << (4 * len(self.ids)).bit_length()))
        self.mask = 8 * len(self.bits) - 1
        for key in self.ids:
            self._set(key)

    def _set(self, key: str) -> None:
        h = hash(key) & self.mask
        self.bits[h >> 3] |= 1 << (h & 7)

    def __contains__(self, key: str) -> bool:
        h = hash(key) & self.mask
        return bool(self.bits[h >> 3] >> (h & 7) & 1)


class History:
    """An index of earlier services by patient identity, each patient's services sorted by date.

    Compact (issue 13: under 200 bytes per service line at a million lines): a service is a row
    of typed columns (`array`) - the date as an ordinal, the encounter as an index, each repeated
    value (family, region, codes, practice, payer...) interned once - and `Service` objects are
    built only for the services a question returns. Each identity key holds an array of row
    numbers sorted by date, so a window question is two binary searches plus the rows it returns.
    """

    def __init__(self) -> None:
        self.sources: list[str] = []
        self._sorted = True
        # per service row
        self._date = array("i")
        self._enc = array("i")
        self._fam = array("B")
        self._region = array("B")
        self._purpose = array("B")
        self._target = array("B")
        self._stage = array("B")
        self._codes = array("i")
        self._auth = array("i")
        self._relief = array("d")
        self._sites = array("i")  # interned (level, side, relief) tuples (RFA site rules)
        # per encounter: its ID, practice, rendering NPI and payer ID (interned)
        self._enc_id: list[str] = []
        self._filed = _MaybeFiled(self._enc_id)
        self._enc_practice = array("i")
        self._enc_npi = array("i")
        self._enc_payer = array("i")
        self._small = _Table()  # families, regions, purposes, targets, stages (fewer than 256)
        self._values = _Table()  # code tuples, authorization numbers, practices, NPIs, payer IDs
        self._payer_table = _Table()  # Payer objects, by their fields
        # identity key -> row numbers (sorted by date once the index is sorted)
        self._by_key: dict[str, array[int]] = {}
        # chart ID (practice patient ID) -> the patient's fields as first recorded
        self._charts: dict[str, tuple[Any, ...]] = {}
        # identity key -> (date ordinal, payer index) of the patient's latest record
        self._payers: dict[str, tuple[int, int]] = {}

    @classmethod
    def from_encounters(cls, encounters: Iterable[Encounter], reference: Reference | None = None) -> History:
        if reference is None:
            from painrcm.codes.loader import load_reference

            reference = load_reference()
        h = cls()
        for enc in encounters:
            h.add(enc, reference)
        return h

    def add(self, enc: Encounter, reference: Reference, services: list[Service] | None = None) -> None:
        """File an earlier encounter (`services`: its `services_of`, when the caller already has them)."""
        keys = identity_keys(enc.patient)
        p = enc.patient
        if p.id:
            self._charts.setdefault(
                p.id.strip().upper(), (p.id, p.member_id, p.last_name, p.first_name, p.dob, p.sex)
            )
        day = enc.date_of_service.toordinal()
        if keys:
            payer = enc.payer
            pidx = self._payer_table.id((payer.id, payer.plan, payer.state, payer.name))
            for k in keys:
                seen = self._payers.get(k)
                if seen is None or seen[0] <= day:
                    self._payers[k] = (day, pidx)
        self.add_services(
            keys,
            enc.encounter_id,
            services_of(enc, reference) if services is None else services,
            enc.practice.id,
            enc.rendering_provider.npi,
            enc.payer.id,
        )

    def add_services(
        self,
        keys: list[str],
        encounter_id: str,
        services: list[Service],
        practice_id: str | None = None,
        rendering_npi: str | None = None,
        payer_id: str | None = None,
    ) -> None:
        """File one encounter's services (`services_of`) under identity keys ("m:ID|dob", "n:LAST|FIRST|dob")."""
        if not services:
            return
        e = len(self._enc_id)
        self._enc_id.append(encounter_id)
        self._filed.added()
        values = self._values
        self._enc_practice.append(values.id(practice_id))
        self._enc_npi.append(values.id(rendering_npi))
        self._enc_payer.append(values.id(payer_id))
        small = self._small.id
        for svc in services:
            row = len(self._date)
            self._date.append(svc.date.toordinal())
            self._enc.append(e)
            self._fam.append(small(svc.family))
            self._region.append(small(svc.region))
            self._purpose.append(small(svc.purpose))
            self._target.append(small(svc.target))
            self._stage.append(small(svc.stage))
            self._codes.append(values.id(svc.codes))
            self._auth.append(values.id(svc.authorization_number))
            self._relief.append(_NO_RELIEF if svc.relief_percent is None else svc.relief_percent)
            self._sites.append(values.id(svc.sites))
            for k in keys:
                rows = self._by_key.get(k)
                if rows is None:
                    rows = self._by_key[k] = array("i")
                rows.append(row)
        self._sorted = False

    def __len__(self) -> int:
        return len(self._date)

    def _ensure_sorted(self) -> None:
        if self._sorted:
            return
        when = self._date.__getitem__
        for k, rows in self._by_key.items():
            # stable: services of one date keep the order they were added in
            self._by_key[k] = array("i", sorted(rows, key=when))
        self._sorted = True

    def service(self, i: int) -> Service:
        """The service of row `i` (a row number `rows` returned)."""
        e = self._enc[i]
        small = self._small.values
        values = self._values.values
        relief = self._relief[i]
        return Service(
            self._enc_id[e],
            values[self._enc_practice[e]],
            date.fromordinal(self._date[i]),
            small[self._fam[i]],
            small[self._region[i]],
            small[self._purpose[i]],
            None if isnan(relief) else relief,  # NaN: no relief recorded
            small[self._target[i]],
            small[self._stage[i]],
            values[self._codes[i]],
            values[self._auth[i]],
            values[self._enc_npi[e]],
            values[self._enc_payer[e]],
            values[self._sites[i]] or (),
        )

    def rows(
        self,
        patient: Patient,
        *,
        start: date | None = None,
        end: date | None = None,
        exclude_encounter: str | None = None,
    ) -> list[int]:
        """Row numbers of the services `services` answers with, in its order (oldest first)."""
        self._ensure_sorted()
        when = self._date.__getitem__
        lo_day = None if start is None else start.toordinal()
        hi_day = None if end is None else end.toordinal()
        found: list[int] | None = None
        first: array[int] | None = None
        merged = False
        for key in identity_keys(patient):
            rows = self._by_key.get(key)
            if not rows or rows == first:  # both keys reach the same records (the usual case)
                continue
            first = rows
            lo = 0 if lo_day is None else bisect.bisect_right(rows, lo_day, key=when)
            hi = len(rows) if hi_day is None else bisect.bisect_right(rows, hi_day, key=when)
            part = rows[lo:hi].tolist()
            if found is None:
                found = part
            elif part != found:
                # the keys reach different records: their union, each row once, in date order
                # (stable: rows of one date keep the order the keys gave them)
                seen = set(found)
                found += [i for i in part if i not in seen]
                merged = True
        if not found:
            return []
        if merged:
            found.sort(key=when)
        if exclude_encounter is not None and exclude_encounter in self._filed:
            enc, enc_ids = self._enc, self._enc_id
            found = [i for i in found if enc_ids[enc[i]] != exclude_encounter]
        return found

    def services(
        self,
        patient: Patient,
        *,
        start: date | None = None,
        end: date | None = None,
        exclude_encounter: str | None = None,
    ) -> Iterator[Service]:
        """Services of this patient (any practice) with start < date <= end, oldest first."""
        for i in self.rows(patient, start=start, end=end, exclude_encounter=exclude_encounter):
            yield self.service(i)

    def past(
        self,
        patient: Patient,
        *,
        start: date | None = None,
        end: date | None = None,
        exclude_encounter: str | None = None,
    ) -> Past:
        """The patient's services with start < date <= end as a `Past`: asked of the index once,
        then every window question inside it is a binary search over their dates."""
        return Past(self, self.rows(patient, start=start, end=end, exclude_encounter=exclude_encounter))

    def patient_by_chart(self, chart_id: str) -> Patient | None:
        row = self._charts.get(chart_id.strip().upper())
        if row is None:
            return None
        pid, member_id, last, first, dob, sex = row
        return Patient(id=pid, member_id=member_id, last_name=last, first_name=first, dob=dob, sex=sex)

    def latest_payer(self, patient: Patient) -> Payer | None:
        found = [self._payers[k] for k in identity_keys(patient) if k in self._payers]
        if not found:
            return None
        pid, plan, state, name = self._payer_table.values[max(found, key=lambda x: x[0])[1]]
        return Payer(id=pid, plan=plan, state=state, name=name)


class Past:
    """One patient's services up to a date, as rows of a `History` sorted by date (`History.past`).

    Window questions (start < date <= end) are binary searches over the rows' dates. `Service`
    objects are made only for the rows a question returns, once per row; `sessions` answers the
    frequency question (distinct dates of the services a limit covers) from the index's columns
    without making any."""

    __slots__ = ("_days", "_made", "history", "rows")

    def __init__(self, history: History, rows: list[int]) -> None:
        self.history = history
        self.rows = rows
        day = history._date.__getitem__
        fromordinal = date.fromordinal
        self._days = list(map(fromordinal, map(day, rows)))  # ascending
        self._made: dict[int, Service] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def services(
        self, start: date | None = None, end: date | None = None, family: str | None = None
    ) -> list[Service]:
        """The services with start < date <= end (of `family` only, when given), oldest first."""
        days = self._days
        lo = 0 if start is None else bisect.bisect_right(days, start)
        hi = len(days) if end is None else bisect.bisect_right(days, end)
        made = self._made
        out = []
        fam = self.history._fam
        fam_id = None if family is None else self.history._small.index.get(family, -1)
        for i in self.rows[lo:hi]:
            if fam_id is not None and fam[i] != fam_id:
                continue
            s = made.get(i)
            if s is None:
                s = made[i] = self.history.service(i)
            out.append(s)
        return out

    def sessions(
        self,
        start: date | None,
        end: date | None,
        families: Iterable[str],
        codes: Iterable[str] = (),
        region: str | None = None,
        any_region: bool = True,
        purpose: str | None = None,
    ) -> tuple[set[date], set[date]]:
        """Dates of the services with start < date <= end of one of `families` (billed with one of
        `codes`, when given; of `region` unless `any_region`) whose purpose is `purpose` (any
        purpose when None), and, when a purpose is asked for, dates of those of unknown purpose."""
        known: set[date] = set()
        unknown: set[date] = set()
        days = self._days
        lo = 0 if start is None else bisect.bisect_right(days, start)
        hi = len(days) if end is None else bisect.bisect_right(days, end)
        if lo >= hi:
            return known, unknown
        h = self.history
        index = h._small.index
        fams = {index[f] for f in families if f in index}
        if not fams:
            return known, unknown
        want = set(codes)
        code_values = h._values.values
        fam, reg, why, code_ids = h._fam, h._region, h._purpose, h._codes
        region_id = index.get(region, -1)
        purpose_id = None if purpose is None else index.get(purpose, -1)
        rows = self.rows
        for k in range(lo, hi):
            i = rows[k]
            if fam[i] not in fams or (not any_region and reg[i] != region_id):
                continue
            if want and not any(c in want for c in code_values[code_ids[i]]):
                continue
            if purpose_id is None or why[i] == purpose_id:
                known.add(days[k])
            elif why[i] == 0:  # interned None: purpose unknown
                unknown.add(days[k])
        return known, unknown
