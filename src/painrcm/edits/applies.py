"""When an edit can apply: the claim features its check needs (`Edit.applies_when`).

An edit declares, as data, the claims its check can yield anything on (a hit, a not_checked entry or
a fix): a tuple of entries of which at least one must hold, an entry being one feature or several
joined by "+" (all of them). No declaration: the check runs on every claim. The engine turns the
declarations into bit masks once per payer policy (`Gate`), reads each claim's features into one
mask, and runs only the edits whose declaration the mask meets (the set of edits is kept per mask,
so a claim pays for reading its features and one dictionary look-up). tests/test_edit_applies.py
proves it for every edit: run on a claim its declaration rules out, the check yields nothing.

The features (a declaration naming anything else is refused when the engine indexes it):

Per line, from the line's code as the code table and the payer's policy know it:
  ``line``               the claim has a line
  ``code:C``             a line bills code C
  ``kind:K``             a line's code is of kind K (procedure, imaging, em, drug, drug_test,
                         supply ...); ``kind:?`` a code the code table does not know
  ``family:F``           a line's code belongs to procedure family F
  ``imaging:I``          a line's code has imaging I (included, without ...)
  ``addon``              a line's code is an add-on (it lists its primaries)
  ``first_level``        a first-level code that has add-on codes
  ``level_family``       a code of a level family (transforaminal, facet, facet RFA) with a region
  ``one_sided``          a code that needs a side
  ``stages``             a code the table gives stages (spinal cord stimulator trial, implant ...)
  ``dated``              a code the table knows only between dates (its ``effective_from``/``to``)
  ``mue:none``           a code without an MUE in the loaded table; ``mue:0`` one whose MUE is 0
  ``covered``            a procedure code of a family the payer lists covered diagnoses for
  ``conservative``       a procedure code of a family the payer wants conservative care before
  ``session_levels``     a code of a family the payer limits the levels per session of;
                         ``no_levels``: to none (a limit below one)
  ``not_covered``        a code the payer does not cover; ``not_covered_us``: one of its
                         not-covered ultrasound-guided codes
  ``asc_sub``            a code of the payer's ASC code substitutions (either side of one)
  ``auth_rule:E``        a code of a payer authorization rule whose missing-authorization edit is E
  ``frequency:E``        a code of a family a payer frequency limit reported by edit E counts;
                         ``frequency``: of a family any of the payer's limits counts (a claim
                         without lines has every limit of its payer: its note stands for its sessions)
Per line, from the line itself:
  ``mod:M``              a line carries modifier M; ``mod:?`` a modifier the modifier table does not know
  ``many_modifiers``     a line carries more modifiers than an 837P line holds (four)
  ``sideless``           a line of a one-sided code carries no RT, LT or 50
  ``line_charge``        a line gives a charge
  ``line_pos``           a line gives its own place of service
  ``odd_units``          a line's units are missing, below one or not a whole number
  ``units:2``            a line has two units or more (whole)
  ``odd_pointers``       a line points to no diagnosis, to one the claim does not list, or to more
                         than an 837P line holds (four)
Per claim:
  ``lines:2``            the claim has two lines or more
  ``repeat_code``        a code is billed on two lines or more
  ``documented``         the claim documents procedures; ``proc:F`` one of family F
  ``diagnoses``          the claim lists diagnoses
  ``auth_number``        the claim or one of its lines carries an authorization number
  ``total_charge``       the claim gives its total charge
  ``unreadable_number``  its 837P wrote an amount or quantity that is not an X12 number (CLM006)
  ``dob``                the patient's date of birth is given; ``late_dob`` one after the claim's date
  ``odd_dos``            the claim's date of service is after today or before `EARLIEST_SERVICE`
  ``unknown_pos``        the claim's place of service is not a code of the place-of-service table
  ``unbillable_dx``      a diagnosis the ICD-10-CM code set of the claim's date does not bill (or no
                         code set is loaded for that fiscal year)
  ``line_dates``         a line gives a date of service other than the claim's
  ``bad_npi``            the billing, rendering or referring provider's NPI is not a valid NPI
  ``claim_id_reused``    another claim of its 837P file has the same claim ID (CLM007)
  ``practice:K``         the practice is of kind K (physician, asc)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from painrcm.codes.tables import CodeInfo, Reference, fiscal_year_of
from painrcm.edits.add002 import side_key, whole_units
from painrcm.edits.base import Edit
from painrcm.edits.claim_facts import EARLIEST_SERVICE, npi_problem
from painrcm.edits.clm002 import provider_npis
from painrcm.edits.cod002 import billable
from painrcm.edits.cod003 import MAX_MODIFIERS
from painrcm.edits.cod005 import MAX_POINTERS
from painrcm.model import Encounter, Line
from painrcm.policy.schema import Policy

# features with a value after the colon; the others are plain names
PREFIXED = ("code", "kind", "family", "imaging", "auth_rule", "frequency", "mod", "proc", "practice")
PLAIN = frozenset(
    {
        "line",
        "addon",
        "first_level",
        "level_family",
        "one_sided",
        "stages",
        "covered",
        "conservative",
        "session_levels",
        "not_covered",
        "not_covered_us",
        "asc_sub",
        "line_charge",
        "lines:2",
        "repeat_code",
        "documented",
        "diagnoses",
        "auth_number",
        "total_charge",
        "unreadable_number",
        "dob",
        "frequency",
        "dated",
        "mue:none",
        "mue:0",
        "many_modifiers",
        "line_pos",
        "odd_units",
        "units:2",
        "odd_pointers",
        "unknown_pos",
        "claim_id_reused",
        "unbillable_dx",
        "line_dates",
        "bad_npi",
        "late_dob",
        "odd_dos",
        "no_levels",
        "sideless",
    }
)


def _sideless(info: CodeInfo | None, line: Line) -> bool:
    return info is not None and info.one_sided and side_key(line) is None


def known_feature(feature: str) -> bool:
    if feature in PLAIN:
        return True
    prefix, colon, value = feature.partition(":")
    return bool(colon and value) and prefix in PREFIXED


def code_features(code: str, reference: Reference, policy: Policy) -> set[str]:
    """The features a line of `code` gives its claim under `policy`."""
    # imported here: the sides of level families live with the coder, which `explain` never loads
    from painrcm.edits.add002 import has_addons
    from painrcm.edits.sides import level_family

    out = {"line", f"code:{code}"}
    info = reference.codes.get(code)
    if info is None:
        out.add("kind:?")
    else:
        out.add(f"kind:{info.kind}")
        if info.family:
            out.add(f"family:{info.family}")
            if info.kind == "procedure" and info.family in policy.diagnoses.covered:
                out.add("covered")
            if info.kind == "procedure" and info.family in policy.conservative_care_weeks:
                out.add("conservative")
            if info.family in policy.session_levels:
                out.add("session_levels")
                if policy.session_levels[info.family] < 1:
                    out.add("no_levels")
            for limit in policy.frequency:
                if info.family in limit.families:
                    out.update(("frequency", f"frequency:{limit.edit}"))
        if info.imaging:
            out.add(f"imaging:{info.imaging}")
        if info.addon_of:
            out.add("addon")
        if has_addons(reference, info):
            out.add("first_level")
        if level_family(info):
            out.add("level_family")
        if info.one_sided:
            out.add("one_sided")
        if info.stages:
            out.add("stages")
        if info.effective_from or info.effective_to:
            out.add("dated")
    mue = reference.mue.get(code)
    if mue is None:
        out.add("mue:none")
    elif mue.max_units < 1:
        out.add("mue:0")
    if code in policy.not_covered:
        out.add("not_covered")
    if code in policy.not_covered_ultrasound:
        out.add("not_covered_us")
    subs = policy.asc_code_substitutions
    if code in subs or code in subs.values():
        out.add("asc_sub")
    out.update(f"auth_rule:{r.missing}" for r in policy.authorization.rules if code in r.codes)
    return out


def frequency_features(policy: Policy) -> set[str]:
    """A claim without lines has every frequency limit of its payer (the history edits count the
    sessions of its documented procedures)."""
    return (
        {"frequency", *(f"frequency:{limit.edit}" for limit in policy.frequency)}
        if policy.frequency
        else set()
    )


def claim_features(enc: Encounter, lines: list[Line], reference: Reference, policy: Policy) -> set[str]:
    """Every feature of a claim (the slow, plain reading `Gate.mask` must agree with; used by tests)."""
    out: set[str] = set()
    n_dx = len(enc.diagnoses)
    dos = enc.date_of_service
    for ln in lines:
        out |= code_features(ln.code, reference, policy)
        out.update(f"mod:{m}" for m in ln.modifiers)
        out.update("mod:?" for m in ln.modifiers if m not in reference.modifiers)
        if len(ln.modifiers) > MAX_MODIFIERS:
            out.add("many_modifiers")
        if ln.charge is not None:
            out.add("line_charge")
        if ln.authorization_number:
            out.add("auth_number")
        if ln.place_of_service is not None:
            out.add("line_pos")
        if ln.date_of_service is not None and ln.date_of_service != dos:
            out.add("line_dates")
        if _sideless(reference.codes.get(ln.code), ln):
            out.add("sideless")
        units = whole_units(ln)
        if units is None:
            out.add("odd_units")
        elif units >= 2:
            out.add("units:2")
        ptrs = ln.diagnosis_pointers
        if not ptrs or len(ptrs) > MAX_POINTERS or any(not 1 <= p <= n_dx for p in ptrs):
            out.add("odd_pointers")
    if not lines:
        out |= frequency_features(policy)
    if len(lines) > 1:
        out.add("lines:2")
    if len({ln.code for ln in lines}) < len(lines):
        out.add("repeat_code")
    if enc.procedures:
        out.add("documented")
        out.update(f"proc:{p.family.value}" for p in enc.procedures)
    if enc.diagnoses:
        out.add("diagnoses")
    if enc.authorization_number:
        out.add("auth_number")
    if enc.total_charge is not None:
        out.add("total_charge")
    if enc.unreadable_numbers:
        out.add("unreadable_number")
    if enc.patient.dob is not None:
        out.add("dob")
        if enc.patient.dob > dos:
            out.add("late_dob")
    if dos > date.today() or dos < EARLIEST_SERVICE:
        out.add("odd_dos")
    if not known_pos(enc.place_of_service, reference):
        out.add("unknown_pos")
    if enc.claim_id_also_at:
        out.add("claim_id_reused")
    if any(not billable(dx, dos, reference) for dx in enc.diagnoses):
        out.add("unbillable_dx")
    if any(npi_problem(npi) for _role, npi in provider_npis(enc)):
        out.add("bad_npi")
    out.add(f"practice:{enc.practice.kind}")
    return out


def known_pos(pos: str, reference: Reference) -> bool:
    from painrcm.edits.cod004 import normalized_pos

    return normalized_pos(pos) in reference.places


def may_apply(edit: Edit, features: set[str]) -> bool:
    """The declaration read on a claim's features (the meaning `Gate` computes with masks)."""
    return not edit.applies_when or any(set(a.split("+")) <= features for a in edit.applies_when)


@dataclass
class Gate:
    """The declarations of a policy's edits as bit masks, and each claim's features as one mask.
    Only features some declaration names get a bit; a code's mask is worked out once per policy."""

    reference: Reference
    policy: Policy
    edits: tuple[Edit, ...]
    bits: dict[str, int] = field(default_factory=dict)
    needs: tuple[tuple[int, ...], ...] = ()  # per edit: the masks of its entries (empty: always)
    _codes: dict[str, int] = field(default_factory=dict)
    _mods: dict[str, int] = field(default_factory=dict)
    _procs: dict[str, int] = field(default_factory=dict)
    _no_lines: int = 0  # the features of a claim without lines
    # the bits of the per-claim features (0 when no declaration names one), looked up once per policy
    _claim_bits: dict[str, int] = field(default_factory=dict)
    _unknown_mod: int = 0
    _places: dict[str, int] = field(default_factory=dict)  # a claim's place of service: its bits
    _diagnoses: dict[tuple[str, int], int] = field(default_factory=dict)  # (diagnosis, fiscal year): bits
    # the codes the code table says need a side (a line of one without RT, LT or 50 is `sideless`)
    _one_sided: frozenset[str] = frozenset()
    # whether an NPI has a problem (`npi_problem`), per NPI the claims give (`provider_npis`)
    _bad_npis: dict[str, bool] = field(default_factory=dict)
    # no date of service after this day is in the future: the day the gate was made (days only pass),
    # so a claim dated up to it is not `odd_dos` for being late, without asking the clock
    _not_after: date = field(default_factory=date.today)

    def __post_init__(self) -> None:
        needs = []
        for edit in self.edits:
            masks = []
            for entry in edit.applies_when:
                mask = 0
                for feature in entry.split("+"):
                    if not known_feature(feature):
                        raise RuntimeError(f"{edit.id}.applies_when: unknown claim feature {feature!r}")
                    mask |= self.bits.setdefault(feature, 1 << len(self.bits))
                masks.append(mask)
            needs.append(tuple(masks))
        self.needs = tuple(needs)
        declared: dict[str, int] = {}
        for feature, bit in self.bits.items():
            prefix, _, value = feature.partition(":")
            if prefix == "mod" and value != "?":
                declared[value] = bit
            elif prefix == "proc":
                self._procs[value] = bit
        # every modifier of the table with its bit (0: no declaration names it); any other is unknown
        self._unknown_mod = self.bits.get("mod:?", 0)
        self._mods = {m: declared.get(m, 0) for m in self.reference.modifiers}
        self._mods.update((m, bit | self._unknown_mod) for m, bit in declared.items() if m not in self._mods)
        self._no_lines = sum(self.bits.get(f, 0) for f in frequency_features(self.policy))
        self._claim_bits = {f: self.bits.get(f, 0) for f in PLAIN}
        self._claim_bits.update((f, bit) for f, bit in self.bits.items() if f.startswith("practice:"))
        self._one_sided = frozenset(c for c, info in self.reference.codes.items() if info.one_sided)

    def _bit(self, feature: str) -> int:
        return self.bits.get(feature, 0)

    def code_mask(self, code: str) -> int:
        found = self._codes.get(code)
        if found is None:
            if len(self._codes) > 100_000:
                self._codes.clear()  # a long-running server fed endless made-up codes stays bounded
            bits = self.bits
            found = self._codes[code] = sum(
                bits[f] for f in code_features(code, self.reference, self.policy) if f in bits
            )
        return found

    def mask(self, enc: Encounter, lines: list[Line]) -> int:
        """The claim's features as a mask (only those a declaration names)."""
        bits = self._claim_bits
        codes = self._codes
        mods = self._mods
        unknown_mod = self._unknown_mod
        one_sided = self._one_sided
        n_dx = len(enc.diagnoses)
        dos = enc.date_of_service
        mask = 0
        charge = False
        for ln in lines:
            m = codes.get(ln.code)
            mask |= self.code_mask(ln.code) if m is None else m
            line_mods = ln.modifiers
            for mod in line_mods:
                m = mods.get(mod)
                mask |= unknown_mod if m is None else m
            if len(line_mods) > MAX_MODIFIERS:
                mask |= bits["many_modifiers"]
            if ln.charge is not None:
                charge = True
            if ln.authorization_number:
                mask |= bits["auth_number"]
            if ln.place_of_service is not None:
                mask |= bits["line_pos"]
            if ln.code in one_sided and side_key(ln) is None:  # `_sideless`, asked of one-sided codes only
                mask |= bits["sideless"]
            if ln.date_of_service is not None and ln.date_of_service != dos:
                mask |= bits["line_dates"]
            units = whole_units(ln)
            if units is None:
                mask |= bits["odd_units"]
            elif units >= 2:
                mask |= bits["units:2"]
            ptrs = ln.diagnosis_pointers
            if not ptrs or len(ptrs) > MAX_POINTERS or min(ptrs) < 1 or max(ptrs) > n_dx:
                mask |= bits["odd_pointers"]
        if charge:
            mask |= bits["line_charge"]
        if not lines:
            mask |= self._no_lines
        if len(lines) > 1:
            mask |= bits["lines:2"]
            if len({ln.code for ln in lines}) < len(lines):
                mask |= bits["repeat_code"]
        if enc.procedures:
            mask |= bits["documented"]
            for p in enc.procedures:
                mask |= self._procs.get(p.family, 0)  # a StrEnum: hashed and equal as its value
        if enc.diagnoses:
            mask |= bits["diagnoses"]
            year = fiscal_year_of(dos)
            known = self._diagnoses
            for dx in enc.diagnoses:
                found = known.get((dx, year))
                if found is None:
                    if len(known) > 100_000:
                        known.clear()  # a long-running server fed endless made-up codes stays bounded
                    unbillable = not billable(dx, dos, self.reference)
                    found = known[(dx, year)] = bits["unbillable_dx"] if unbillable else 0
                mask |= found
        bad_npis = self._bad_npis
        for _role, npi in provider_npis(enc):
            bad = bad_npis.get(npi)
            if bad is None:
                if len(bad_npis) > 10_000:
                    bad_npis.clear()  # a practice's providers are few; stay bounded whatever arrives
                bad = bad_npis[npi] = bool(npi_problem(npi))
            if bad:
                mask |= bits["bad_npi"]
        if enc.authorization_number:
            mask |= bits["auth_number"]
        if enc.total_charge is not None:
            mask |= bits["total_charge"]
        if enc.unreadable_numbers:
            mask |= bits["unreadable_number"]
        dob = enc.patient.dob
        if dob is not None:
            mask |= bits["dob"]
            if dob > dos:
                mask |= bits["late_dob"]
        if bits["odd_dos"] and (dos < EARLIEST_SERVICE or (dos > self._not_after and dos > date.today())):
            mask |= bits["odd_dos"]
        if enc.claim_id_also_at:
            mask |= bits["claim_id_reused"]
        place = self._places.get(enc.place_of_service)
        if place is None:
            if len(self._places) > 10_000:
                self._places.clear()  # places are few; stay bounded whatever arrives
            unknown = not known_pos(enc.place_of_service, self.reference)
            place = self._places[enc.place_of_service] = bits["unknown_pos"] if unknown else 0
        return mask | place | bits.get("practice:" + enc.practice.kind, 0)

    def runs(self, mask: int) -> tuple[bool, ...]:
        """Per edit, whether it may apply to a claim of this mask."""
        out = []
        for need in self.needs:
            if not need:
                out.append(True)
                continue
            for a in need:
                if mask & a == a:
                    out.append(True)
                    break
            else:
                out.append(False)
        return tuple(out)
