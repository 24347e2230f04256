"""The patient's past, as the engine asks about it.

The engine never knows where history comes from (files today, the workspace database later): it
receives a `History` and asks window questions: "sessions of family F in region R for this patient
between these dates", "earlier diagnostic blocks with their relief", "claims that used
authorization A". Records are indexed by patient identity (RULES.md section 6) and kept sorted by
date, so a window question is a binary search plus the sessions it returns.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from painrcm.codes.tables import Reference
from painrcm.model import Encounter, Line, Patient, Payer, Procedure
from painrcm.spine import code_family, lumbar_nerves_to_joints, parse_level, procedure_regions


def member_key(member_id: str | None, dob: date | None) -> tuple[str, str] | None:
    if not member_id or dob is None:
        return None
    return ("m:" + "".join(member_id.split()).upper(), dob.isoformat())


def name_key(last: str | None, first: str | None, dob: date | None) -> tuple[str, str] | None:
    if not last or not first or dob is None:
        return None
    return ("n:" + " ".join(last.split()).upper() + "|" + " ".join(first.split()).upper(), dob.isoformat())


def identity_keys(p: Patient) -> list[tuple[str, str]]:
    """Two records are one patient when member ID (ignoring case and spaces) and date of birth
    match, or last name, first name and date of birth match."""
    return [k for k in (member_key(p.member_id, p.dob), name_key(p.last_name, p.first_name, p.dob)) if k]


@dataclass(frozen=True, slots=True)
class Service:
    """One procedure family on one date of service of one earlier claim."""

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


def services_of(enc: Encounter, reference: Reference) -> list[Service]:
    """What an earlier encounter contributes to history.

    Billed lines say which families and regions were done; the procedure note, when there is one,
    adds purpose and relief. Without a note a facet line with KX is diagnostic (RULES.md 10)."""
    docs = list(enc.procedures)
    out: dict[tuple[str, str | None, date], Service] = {}

    def add(
        family: str,
        region: str | None,
        when: date,
        line: Line | None,
        purpose: str | None,
        relief: float | None,
        target: str | None,
        stage: str | None,
        sites: tuple[tuple[str, str, float | None], ...] = (),
    ) -> None:
        key = (family, region, when)
        code = (line.code,) if line is not None else ()
        auth = (line.authorization_number if line is not None else None) or enc.authorization_number
        prev = out.get(key)
        if prev is not None:
            out[key] = Service(
                prev.encounter_id,
                prev.practice_id,
                when,
                family,
                region,
                prev.purpose or purpose,
                prev.relief_percent if prev.relief_percent is not None else relief,
                prev.target or target,
                prev.stage or stage,
                prev.codes + code,
                prev.authorization_number or auth,
                prev.rendering_npi,
                prev.payer_id,
                prev.sites + tuple(x for x in sites if x not in prev.sites),
            )
            return
        out[key] = Service(
            enc.encounter_id,
            enc.practice.id,
            when,
            family,
            region,
            purpose,
            relief,
            target,
            stage,
            code,
            auth,
            enc.rendering_provider.npi,
            enc.payer.id,
            sites,
        )

    if enc.lines:
        for ln in enc.lines:
            info = reference.info(ln.code)
            if info is None or info.family is None:
                continue
            when = ln.date_of_service or enc.date_of_service
            doc = next(
                (
                    p
                    for p in docs
                    if code_family(p) == info.family
                    and (info.region is None or info.region in (procedure_regions(p) or {info.region}))
                ),
                None,
            )
            purpose = doc.purpose if doc is not None else None
            if purpose is None and info.family == "facet_joint" and "KX" in ln.modifiers:
                purpose = "diagnostic"
            matching = [
                p
                for p in docs
                if code_family(p) == info.family
                and (info.region is None or info.region in (procedure_regions(p) or {info.region}))
            ]
            sites = tuple(x for p in matching for x in sites_of(p, info.region)) or line_sites(ln)
            add(
                info.family,
                info.region,
                when,
                ln,
                purpose,
                doc.relief_percent if doc is not None else None,
                doc.target if doc is not None else None,
                doc.stage if doc is not None else (info.stages[0] if len(info.stages) == 1 else None),
                sites,
            )
    else:
        for p in docs:
            regions: list[str | None] = [*sorted(procedure_regions(p) or ())] or [None]
            for region in regions:
                add(
                    p.family.value,
                    region,
                    enc.date_of_service,
                    None,
                    p.purpose,
                    p.relief_percent,
                    p.target,
                    p.stage,
                    sites_of(p, region),
                )
    return list(out.values())


_SIDE_LETTERS = {"right": ("R",), "left": ("L",), "bilateral": ("R", "L")}


def sites_of(proc: Procedure, region: str | None) -> tuple[tuple[str, str, float | None], ...]:
    """(level, side, relief) of a documented procedure's sites in `region` (joint levels for facet and RFA;
    lumbar medial-branch nerves become the joints they supply). Unknown parts are "" and "?"."""
    sides = _SIDE_LETTERS.get(proc.laterality or "", ("?",))
    levels: list[str] = []
    parsed = [lv for lv in (parse_level(x) for x in proc.levels or []) if lv is not None]
    singles = [lv for lv in parsed if not lv.is_joint]
    if (
        proc.family.value in ("facet_joint", "radiofrequency_ablation")
        and singles
        and len(singles) == len(parsed)
    ):
        parsed = lumbar_nerves_to_joints([lv.upper for lv in singles]) or parsed
    levels = [str(lv) for lv in parsed if region is None or lv.region == region]
    return tuple((lv, side, proc.relief_percent) for lv in (levels or [""]) for side in sides)


def line_sites(line: Line) -> tuple[tuple[str, str, float | None], ...]:
    mods = line.modifiers
    if "50" in mods or ("RT" in mods and "LT" in mods):
        return (("", "R", None), ("", "L", None))
    if "RT" in mods:
        return (("", "R", None),)
    if "LT" in mods:
        return (("", "L", None),)
    return (("", "?", None),)


@dataclass
class History:
    """An index of earlier services by patient identity, each list sorted by date."""

    _by_key: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    _services: list[Service] = field(default_factory=list)
    _dates: dict[tuple[str, str], list[date]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    _sorted: bool = True
    # chart ID (practice patient ID) -> the patient as recorded, for look-ups by chart
    charts: dict[str, Patient] = field(default_factory=dict)
    # identity key -> the payer on the patient's latest record
    payers: dict[tuple[str, str], tuple[date, Payer]] = field(default_factory=dict)

    @classmethod
    def from_encounters(cls, encounters: Iterable[Encounter], reference: Reference | None = None) -> History:
        if reference is None:
            from painrcm.codes.loader import load_reference

            reference = load_reference()
        h = cls()
        for enc in encounters:
            h.add(enc, reference)
        return h

    def add(self, enc: Encounter, reference: Reference) -> None:
        keys = identity_keys(enc.patient)
        if enc.patient.id:
            self.charts.setdefault(enc.patient.id.strip().upper(), enc.patient)
        for k in keys:
            seen = self.payers.get(k)
            if seen is None or seen[0] <= enc.date_of_service:
                self.payers[k] = (enc.date_of_service, enc.payer)
        for svc in services_of(enc, reference):
            idx = len(self._services)
            self._services.append(svc)
            for k in keys:
                self._by_key.setdefault(k, []).append(idx)
        self._sorted = False

    def __len__(self) -> int:
        return len(self._services)

    def _ensure_sorted(self) -> None:
        if self._sorted:
            return
        svc = self._services
        for k, idxs in self._by_key.items():
            idxs.sort(key=lambda i: svc[i].date)
            self._dates[k] = [svc[i].date for i in idxs]
        self._sorted = True

    def services(
        self,
        patient: Patient,
        *,
        start: date | None = None,
        end: date | None = None,
        exclude_encounter: str | None = None,
    ) -> Iterator[Service]:
        """Services of this patient (any practice) with start < date <= end, oldest first."""
        self._ensure_sorted()
        seen: set[int] = set()
        picked: list[int] = []
        for k in identity_keys(patient):
            idxs = self._by_key.get(k)
            if not idxs:
                continue
            dates = self._dates[k]
            lo = 0 if start is None else bisect.bisect_right(dates, start)
            hi = len(dates) if end is None else bisect.bisect_right(dates, end)
            for i in idxs[lo:hi]:
                if i not in seen:
                    seen.add(i)
                    picked.append(i)
        picked.sort(key=lambda i: self._services[i].date)
        for i in picked:
            s = self._services[i]
            if exclude_encounter is not None and s.encounter_id == exclude_encounter:
                continue
            yield s

    def patient_by_chart(self, chart_id: str) -> Patient | None:
        return self.charts.get(chart_id.strip().upper())

    def latest_payer(self, patient: Patient) -> Payer | None:
        found = [self.payers[k] for k in identity_keys(patient) if k in self.payers]
        return max(found, key=lambda x: x[0])[1] if found else None
