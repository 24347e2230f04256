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


Sites = tuple[tuple[str, str, float | None], ...]  # (level, side, relief) of each site


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
    if not billed:
        return _noted_services(enc)
    docs = enc.procedures
    enc_id, practice_id, npi, payer_id, auth, dos = _claim_facts(enc)
    if infos is None:
        infos = [reference.info(ln.code) for ln in billed]
    # the lines of each service (family, region, date), in the order the first of each comes
    groups: dict[tuple[str, str | None, date], list[tuple[Line, CodeInfo]]] = {}
    for ln, info in zip(billed, infos, strict=True):
        if info is None or info.family is None:
            continue
        key = (info.family, info.region, ln.date_of_service or dos)
        group = groups.get(key)
        if group is None:
            groups[key] = [(ln, info)]
        else:
            group.append((ln, info))
    # what the notes say of each (family, region) a line bills: the first matching note (purpose,
    # relief, target, stage) and the sites of every matching note, worked out once per pair
    by_kind: dict[tuple[str, str | None], tuple[Procedure | None, Sites]] = {}
    out = []
    for (family, region, when), group in groups.items():
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
            if len(matching) == 1:
                found = (matching[0], sites_of(matching[0], region))
            elif matching:
                found = (matching[0], tuple(x for p in matching for x in sites_of(p, region)))
            else:
                found = (None, ())
            by_kind[kind] = found
        doc, doc_sites = found
        # The first line's facts stand; what it leaves unknown the next line that knows it gives
        # (the note's facts are the same for every line; codes and line sites are every line's).
        ln, info = group[0]
        purpose: str | None = None
        relief: float | None = None
        target: str | None = None
        stage: str | None
        if doc is not None:
            purpose, relief, target, stage = doc.purpose, doc.relief_percent, doc.target, doc.stage
        else:
            stage = info.stages[0] if len(info.stages) == 1 else None
        kx = purpose is None and family == "facet_joint"  # without a note's purpose, KX says diagnostic
        if kx and "KX" in ln.modifiers:
            purpose = "diagnostic"
        authorization = ln.authorization_number or auth
        sites = doc_sites or line_sites(ln)
        codes: tuple[str, ...] = (ln.code,)
        for ln, info in group[1:]:
            codes += (ln.code,)
            if kx and purpose is None and "KX" in ln.modifiers:
                purpose = "diagnostic"
            if doc is None:
                stage = stage or (info.stages[0] if len(info.stages) == 1 else None)
            authorization = authorization or ln.authorization_number or auth
            if not doc_sites:
                sites += tuple(x for x in line_sites(ln) if x not in sites)
        out.append(
            Service(
                enc_id,
                practice_id,
                when,
                family,
                region,
                purpose,
                relief,
                target,
                stage,
                codes,
                authorization,
                npi,
                payer_id,
                sites,
            )
        )
    return out


def _claim_facts(enc: Encounter) -> tuple[str, str | None, str | None, str | None, str | None, date]:
    """What every service of the encounter records of it: encounter ID, practice, rendering NPI, payer
    ID, authorization number and date of service."""
    return (
        enc.encounter_id,
        enc.practice.id,
        enc.rendering_provider.npi,
        enc.payer.id,
        enc.authorization_number,
        enc.date_of_service,
    )


def _noted_services(enc: Encounter) -> list[Service]:
    """A claim without lines: its notes stand for its services, one per family and region noted."""
    enc_id, practice_id, npi, payer_id, auth, dos = _claim_facts(enc)
    out: dict[tuple[str, str | None, date], Service] = {}
    for p in enc.procedures:
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
    built only for the services a question returns. Each identity key holds an array of its rows
    as date ordinal << 32 | row number, sorted (by date, then in the order they were filed), so a
    window question is two binary searches over that one array plus the rows it returns.
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
        # identity key -> its rows as date ordinal << 32 | row (sorted once the index is sorted; keys
        # reaching the same rows then share one array)
        self._by_key: dict[str, array[int]] = {}
        self._shared = False
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
        if self._shared:
            # keys share arrays since the last sort: each gets its own again before rows are added
            self._by_key = {k: array("q", entries) for k, entries in self._by_key.items()}
            self._shared = False
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
            day = svc.date.toordinal()
            self._date.append(day)
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
                entries = self._by_key.get(k)
                if entries is None:
                    entries = self._by_key[k] = array("q")
                entries.append(day << 32 | row)
        self._sorted = False

    def __len__(self) -> int:
        return len(self._date)

    def _ensure_sorted(self) -> None:
        if self._sorted:
            return
        same: dict[bytes, array[int]] = {}
        for k, entries in self._by_key.items():
            # by date, then by row: services of one date keep the order they were added in
            ordered = array("q", sorted(entries))
            # the keys of one patient usually reach the same rows: one array for them (half the memory)
            self._by_key[k] = same.setdefault(ordered.tobytes(), ordered)
        self._sorted = self._shared = True

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
        return [v & _ROW for v in self._entries(patient, start, end, exclude_encounter)]

    def _entries(
        self, patient: Patient, start: date | None, end: date | None, exclude_encounter: str | None
    ) -> array[int]:
        """The patient's entries (date ordinal << 32 | row) with start < date <= end, by date."""
        self._ensure_sorted()
        lo_at = None if start is None else _after(start)
        hi_at = None if end is None else _after(end)
        found: array[int] | None = None
        first: array[int] | None = None
        merged = False
        for key in identity_keys(patient):
            entries = self._by_key.get(key)
            if not entries or entries is first:  # both keys reach the same records (the usual case)
                continue
            first = entries
            lo = 0 if lo_at is None else bisect.bisect_right(entries, lo_at)
            hi = len(entries) if hi_at is None else bisect.bisect_right(entries, hi_at)
            part = entries[lo:hi]
            if found is None:
                found = part
            elif part != found:
                # the keys reach different records: their union, each row once, in date order
                # (stable: rows of one date keep the order the keys gave them)
                seen = set(found)
                found.extend(v for v in part if v not in seen)
                merged = True
        if not found:
            return _NO_ENTRIES
        if merged:
            found = array("q", sorted(found, key=_day_of))
        if exclude_encounter is not None and exclude_encounter in self._filed:
            enc, enc_ids = self._enc, self._enc_id
            found = array("q", [v for v in found if enc_ids[enc[v & _ROW]] != exclude_encounter])
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
        return Past(self, self._entries(patient, start, end, exclude_encounter))

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

    Window questions (start < date <= end) are binary searches over the index's entries for the
    patient (date ordinal << 32 | row). `Service` objects are made only for the rows a question
    returns, once per row; `sessions` answers the frequency question (distinct dates of the
    services a limit covers) from the index's columns without making any."""

    __slots__ = ("_entries", "_made", "history")

    def __init__(self, history: History, entries: array[int]) -> None:
        self.history = history
        self._entries = entries  # ascending
        self._made: dict[int, Service] = {}

    @property
    def rows(self) -> list[int]:
        """The row numbers, oldest first."""
        return [v & _ROW for v in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    def _window(self, start: date | None, end: date | None) -> tuple[int, int]:
        entries = self._entries
        lo = 0 if start is None else bisect.bisect_right(entries, _after(start))
        hi = len(entries) if end is None else bisect.bisect_right(entries, _after(end))
        return lo, hi

    def services(
        self, start: date | None = None, end: date | None = None, family: str | None = None
    ) -> list[Service]:
        """The services with start < date <= end (of `family` only, when given), oldest first."""
        lo, hi = self._window(start, end)
        made = self._made
        out = []
        h = self.history
        fam = h._fam
        fam_id = None if family is None else h._small.index.get(family, -1)
        entries = self._entries
        for k in range(lo, hi):
            i = entries[k] & _ROW
            if fam_id is not None and fam[i] != fam_id:
                continue
            s = made.get(i)
            if s is None:
                s = made[i] = h.service(i)
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
        lo, hi = self._window(start, end)
        if lo >= hi:
            return set(), set()
        h = self.history
        index = h._small.index
        fams = {index[f] for f in families if f in index}
        if not fams:
            return set(), set()
        known: set[int] = set()  # date ordinals
        unknown: set[int] = set()
        want = set(codes)
        code_values = h._values.values
        fam, reg, why, code_ids = h._fam, h._region, h._purpose, h._codes
        region_id = index.get(region, -1)
        purpose_id = None if purpose is None else index.get(purpose, -1)
        entries = self._entries
        for k in range(lo, hi):
            v = entries[k]
            i = v & _ROW
            if fam[i] not in fams or (not any_region and reg[i] != region_id):
                continue
            if want and not any(c in want for c in code_values[code_ids[i]]):
                continue
            if purpose_id is None or why[i] == purpose_id:
                known.add(v >> 32)
            elif why[i] == 0:  # interned None: purpose unknown
                unknown.add(v >> 32)
        day = date.fromordinal
        return {day(d) for d in known}, {day(d) for d in unknown}


_ROW = 0xFFFFFFFF  # an entry's low 32 bits: its row number (the high bits: its date ordinal)
_NO_ENTRIES: array[int] = array("q")


def _after(day: date) -> int:
    """The entry value above every entry dated on or before `day` (below those after it)."""
    return day.toordinal() << 32 | _ROW


def _day_of(entry: int) -> int:
    return entry >> 32
