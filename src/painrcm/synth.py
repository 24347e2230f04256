"""Realistic synthetic encounters, for property tests, benchmarks and demos.

Everything here is invented: names, member IDs (``ZZ`` + digits, a prefix no real payer issues),
dates of birth, NPIs (valid check digits, not real providers). Generation is pure and deterministic:
the same arguments and seed give the same encounters, on any machine (one `random.Random` per call,
no set iteration, no clock, no files).

What "realistic and valid" means here (RULES.md, the payer policies):

- every procedure family of CONTRACTS.md section 2, with the facts its family needs (NEC007),
  levels within the payer's session limits (``policy.session_levels``: Medicare facet 2, commercial 3,
  transforaminal 2, RFA 2, interlaminar 1), laterality, imaging consistent with the family
  (transforaminal, facet, RFA and SI always under fluoroscopy or CT; interlaminar mostly; never an
  unimaged epidural for Medicare, which does not cover it);
- diagnoses from the payer's covered list for the family, as billable FY2026 ICD-10-CM codes, with
  non-specific codes (G89.29) only as secondary diagnoses;
- conservative care long enough for every payer, a psychological evaluation for SCS, relief for
  diagnostic blocks, an authorization number when the payer requires one;
- Medicare, commercial and Medicare Advantage payers, POS 11/22/24, physician and ASC practices.

``generate_encounters`` draws independent encounters (each valid on its own); ``generate_history``
draws per-patient care pathways (two diagnostic blocks before an RFA, a trial before an SCS implant,
epidurals a few months apart) over an earlier period, for frequency and prerequisite edits.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from painrcm.model import Encounter

# --- fixed cast ------------------------------------------------------------------------------


def _npi(base9: str) -> str:
    """A 10-digit NPI with a valid Luhn check digit (prefix 80840), from 9 digits."""
    digits = [int(c) for c in "80840" + base9]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return base9 + str((10 - total % 10) % 10)


PRACTICES: tuple[dict[str, Any], ...] = (
    {
        "id": "P01",
        "name": "Mesa Spine & Pain",
        "npi": "1245319599",
        "tax_id": "741234567",
        "kind": "physician",
        "state": "CA",
    },
    {
        "id": "P02",
        "name": "Desert Interventional",
        "npi": _npi("153826409"),
        "tax_id": "742345678",
        "kind": "physician",
        "state": "TX",
    },
    {
        "id": "ASC1",
        "name": "Mesa Surgery Center",
        "npi": _npi("139684720"),
        "tax_id": "743456789",
        "kind": "asc",
        "state": "CA",
    },
)
PROVIDERS: dict[str, tuple[dict[str, str], ...]] = {
    "P01": ({"npi": "1679576722", "name": "R. Alvarez MD"}, {"npi": _npi("174520931"), "name": "K. Osei DO"}),
    "P02": (
        {"npi": _npi("182736450"), "name": "L. Brandt MD"},
        {"npi": _npi("190283746"), "name": "S. Iyer MD"},
    ),
    # an ASC's rendering provider is the surgeon who worked there
    "ASC1": (
        {"npi": "1679576722", "name": "R. Alvarez MD"},
        {"npi": _npi("174520931"), "name": "K. Osei DO"},
    ),
}
PAYERS: tuple[dict[str, str], ...] = (
    {"id": "MEDICARE", "plan": "medicare"},
    {"id": "ACME-HEALTH", "plan": "commercial"},
    {"id": "SUNCARE-MA", "plan": "medicare_advantage"},
)
_PAYER_WEIGHTS = (50, 30, 20)

_LAST = (
    "Quill",
    "Marlow",
    "Ferrante",
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Beaumont",
    "Castellano",
    "Nakamura",
    "Whitcombe",
    "Adeyemi",
    "Halloran",
    "Petrov",
    "Vasquez",
    "Ellery",
    "Donnelly",
    "Farrow",
    "Gutierrez",
    "Holloway",
    "Ingram",
    "Jaramillo",
    "Kowalczyk",
    "Lachance",
    "Moreau",
    "Nguyen",
    "Oyelaran",
    "Pemberton",
    "Quintero",
    "Rasmussen",
    "Sorensen",
    "Thibodeaux",
    "Upton",
)
_FIRST_F = (
    "Ada",
    "Beatrix",
    "Carmen",
    "Delia",
    "Elsie",
    "Fern",
    "Greta",
    "Hazel",
    "Ines",
    "Juno",
    "Lorna",
    "Maeve",
    "Nell",
    "Opal",
    "Pilar",
    "Rosalind",
    "Sylvie",
    "Thea",
    "Verna",
    "Wren",
)
_FIRST_M = (
    "Abel",
    "Bram",
    "Cyrus",
    "Dmitri",
    "Emil",
    "Felix",
    "Gideon",
    "Hollis",
    "Ivo",
    "Jasper",
    "Lionel",
    "Milo",
    "Nils",
    "Otto",
    "Percy",
    "Rufus",
    "Silas",
    "Tobias",
    "Virgil",
    "Wendell",
)

# --- diagnoses (billable FY2026 ICD-10-CM, each in the payer's covered list for its family) ----------

DX: dict[str, tuple[str, ...]] = {
    "epidural_lumbar": ("M54.16", "M54.17", "M51.16", "M51.17", "M48.062", "M47.26", "M47.27", "M96.1"),
    "epidural_cervical": ("M54.12", "M54.13", "M50.121", "M50.122", "M50.123", "M48.02", "M47.22"),
    "epidural_thoracic": ("M54.14", "M51.14"),
    "facet_lumbar": ("M47.816", "M47.817", "M43.16", "M47.896"),
    "facet_cervical": ("M47.812", "M47.813", "M43.12"),
    "facet_thoracic": ("M47.814",),
    "sacroiliac": ("M46.1", "M53.3", "M53.2X8"),
    "trigger_point": ("M79.18", "M79.12", "M79.11"),
    "trigger_point_commercial": ("M79.7", "M62.830", "M62.838"),
    "greater_occipital": ("M54.81",),
    "genicular_right": ("M17.11",),
    "genicular_left": ("M17.12",),
    "genicular_bilateral": ("M17.0",),
    "sciatic_right": ("M54.31",),
    "sciatic_left": ("M54.32",),
    "sciatic_bilateral": ("M54.30",),
    "femoral": ("M17.11", "M17.12", "M25.551", "M25.552"),
    "other_nerve_right": ("G57.11",),
    "other_nerve_left": ("G57.12",),
    "other_nerve_bilateral": ("G57.13",),
    "scs": ("M96.1", "G90.522", "G90.521", "M54.16"),
    "vertebral_augmentation": ("M80.08XA", "M48.54XA", "M48.56XA"),
    "drug_test": ("Z79.891",),
    "secondary": ("G89.29", "G89.4"),
}
_SECONDARY_WEIGHTS = (3, 1)

# --- documentation words ---------------------------------------------------------------------------

_STEROIDS = (
    ("triamcinolone 40 mg", "J3301", 4),
    ("dexamethasone 10 mg", "J1100", 10),
    ("methylprednisolone 80 mg", "J1040", 1),
    ("betamethasone 6 mg", "J0702", 2),
)
_ANESTHETICS = ("bupivacaine 0.25% 2 mL", "lidocaine 1% 3 mL", "ropivacaine 0.2% 2 mL")
_MUSCLES = (
    "left trapezius",
    "right trapezius",
    "left levator scapulae",
    "right levator scapulae",
    "left rhomboid",
    "right rhomboid",
    "left quadratus lumborum",
    "right quadratus lumborum",
    "left gluteus medius",
    "right gluteus medius",
    "left piriformis",
    "right piriformis",
)
_DRUG_CLASSES = (
    "opiates",
    "oxycodone",
    "fentanyl",
    "buprenorphine",
    "methadone",
    "benzodiazepines",
    "amphetamines",
    "cannabinoids",
    "cocaine",
    "barbiturates",
    "tramadol",
    "tapentadol",
    "gabapentinoids",
    "antidepressants",
    "alcohol",
    "PCP",
    "carisoprodol",
    "meperidine",
)

# Families a pathway (the patient's condition) favours, and their weights for independent draws.
FAMILY_WEIGHTS: dict[str, int] = {
    "epidural_transforaminal": 22,
    "epidural_interlaminar": 15,
    "facet_joint": 22,
    "radiofrequency_ablation": 10,
    "sacroiliac_joint": 8,
    "trigger_point": 8,
    "peripheral_nerve_block": 6,
    "spinal_cord_stimulator": 3,
    "vertebral_augmentation": 2,
    "drug_test": 4,
}
ASC_FAMILIES = (
    "epidural_transforaminal",
    "epidural_interlaminar",
    "facet_joint",
    "radiofrequency_ablation",
    "sacroiliac_joint",
    "spinal_cord_stimulator",
    "vertebral_augmentation",
)
# Families a commercial policy (and Medicare WISeR, for some codes) wants authorized.
AUTH_FAMILIES = (
    "epidural_transforaminal",
    "epidural_interlaminar",
    "facet_joint",
    "radiofrequency_ablation",
    "sacroiliac_joint",
    "spinal_cord_stimulator",
    "vertebral_augmentation",
)
WISER_STATES = ("AZ", "NJ", "OH", "OK", "TX", "WA")
WISER_FAMILIES = (
    "epidural_transforaminal",
    "epidural_interlaminar",
    "vertebral_augmentation",
    "spinal_cord_stimulator",
)

_CONDITIONS = ("radicular", "facet", "sacroiliac", "myofascial", "neuropathic", "fracture", "mixed")
_CONDITION_WEIGHTS = (35, 30, 12, 8, 5, 3, 7)
_CONDITION_FAMILIES: dict[str, tuple[str, ...]] = {
    "radicular": ("epidural_transforaminal", "epidural_interlaminar"),
    "facet": ("facet_joint", "radiofrequency_ablation"),
    "sacroiliac": ("sacroiliac_joint",),
    "myofascial": ("trigger_point", "peripheral_nerve_block"),
    "neuropathic": ("spinal_cord_stimulator", "epidural_transforaminal"),
    "fracture": ("vertebral_augmentation",),
    "mixed": tuple(FAMILY_WEIGHTS),
}

# Procedure pairs that may share a date without an NCCI edit between their codes (checked against
# NCCI v30.1: no pair, or modifier indicator 9).
COMPATIBLE_SECOND: dict[str, tuple[str, ...]] = {
    "facet_joint": ("epidural_interlaminar", "epidural_transforaminal", "sacroiliac_joint"),
    "epidural_interlaminar": ("facet_joint",),
    "epidural_transforaminal": ("facet_joint",),
    "sacroiliac_joint": ("facet_joint",),
    "trigger_point": ("peripheral_nerve_block",),
}

DEFAULT_START = date(2025, 10, 1)  # FY2026, the ICD-10-CM year painrcm loads


@dataclass(frozen=True)
class _Limits:
    """Most levels per session, from the payer policy (RULES.md section 5)."""

    interlaminar: int
    transforaminal: int
    facet: int
    rfa: int


_DEFAULT_LIMITS = {
    "medicare": _Limits(1, 2, 2, 2),
    "commercial": _Limits(1, 2, 3, 2),
}


def _limits_for(plan: str, policies: Any) -> _Limits:
    if policies is None:
        return _DEFAULT_LIMITS["medicare" if plan == "medicare" else "commercial"]
    from painrcm.model import Payer

    pol = policies.for_payer(Payer(id="SYNTH", plan=plan))
    sl = pol.session_levels
    base = _DEFAULT_LIMITS["medicare" if plan == "medicare" else "commercial"]
    return _Limits(
        min(base.interlaminar, sl.get("epidural_interlaminar", base.interlaminar)),
        sl.get("epidural_transforaminal", base.transforaminal),
        sl.get("facet_joint", base.facet),
        sl.get("radiofrequency_ablation", base.rfa),
    )


# --- patients ----------------------------------------------------------------------------------


def make_patients(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` invented patients: identity, payer, home practice and condition (their care pathway)."""
    rng = random.Random(f"patients:{seed}")
    out: list[dict[str, Any]] = []
    for i in range(n):
        payer = rng.choices(PAYERS, weights=_PAYER_WEIGHTS)[0]
        sex = rng.choice("FM")
        age = rng.randint(66, 91) if payer["plan"] != "commercial" else rng.randint(28, 64)
        dob = date(2026 - age, rng.randint(1, 12), rng.randint(1, 28))
        home = rng.choices(("P01", "P02"), weights=(60, 40))[0]
        out.append(
            {
                "id": f"{home}-{seed % 1000:03d}{i:06d}",
                "member_id": f"ZZ{rng.randrange(10**9):09d}",
                "last_name": rng.choice(_LAST),
                "first_name": rng.choice(_FIRST_F if sex == "F" else _FIRST_M),
                "dob": dob.isoformat(),
                "sex": sex,
                "_payer": payer,
                "_home": home,
                "_condition": rng.choices(_CONDITIONS, weights=_CONDITION_WEIGHTS)[0],
            }
        )
    return out


def _public_patient(p: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in p.items() if not k.startswith("_")}


# --- one procedure per family ------------------------------------------------------------------


def _pick_dx(rng: random.Random, key: str, k: int = 1) -> list[str]:
    pool = DX[key]
    return rng.sample(pool, min(k, len(pool)))


def _imaging_spine(rng: random.Random) -> str:
    return rng.choices(("fluoroscopy", "ct"), weights=(95, 5))[0]


def _meds(rng: random.Random, steroid: bool = True) -> tuple[list[str], list[dict[str, Any]]]:
    meds = [rng.choice(_ANESTHETICS)]
    drugs: list[dict[str, Any]] = []
    if steroid:
        name, code, units = rng.choice(_STEROIDS)
        meds.insert(0, name)
        drugs.append({"code": code, "units": units})
    return meds, drugs


def _side(rng: random.Random, p_bilateral: float) -> str:
    if rng.random() < p_bilateral:
        return "bilateral"
    return rng.choice(("left", "right"))


def _contiguous(rng: random.Random, seq: Sequence[str], k: int) -> list[str]:
    start = rng.randrange(len(seq) - k + 1)
    return list(seq[start : start + k])


_LUMBAR_ROOTS = ("L3", "L4", "L5", "S1")
_CERVICAL_ROOTS = ("C5", "C6", "C7")
_LUMBAR_JOINTS = ("L2-L3", "L3-L4", "L4-L5", "L5-S1")
_CERVICAL_JOINTS = ("C2-C3", "C3-C4", "C4-C5", "C5-C6", "C6-C7")
_THORACIC_JOINTS = ("T4-T5", "T5-T6", "T6-T7", "T7-T8", "T8-T9", "T9-T10")
_LUMBAR_MB_NERVES = ("L1", "L2", "L3", "L4", "L5")  # consecutive k+1 nerves supply k joints


def _spine_region(rng: random.Random, weights: tuple[int, int, int] = (75, 22, 3)) -> str:
    return rng.choices(("lumbar", "cervical", "thoracic"), weights=weights)[0]


@dataclass
class _Proc:
    procedure: dict[str, Any]
    diagnoses: list[str]
    drugs: list[dict[str, Any]]
    pos_hint: tuple[str, ...] = ("11", "22", "24")


def _transforaminal(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    region = _spine_region(rng, (85, 15, 0))
    roots = _LUMBAR_ROOTS if region == "lumbar" else _CERVICAL_ROOTS
    k = rng.choices((1, 2), weights=(60, 40))[0] if lim.transforaminal >= 2 else 1
    meds, drugs = _meds(rng)
    proc = {
        "family": "epidural_transforaminal",
        "region": region,
        "levels": _contiguous(rng, roots, k),
        "laterality": _side(rng, 0.15),
        "imaging": _imaging_spine(rng),
        "images_stored": True,
        "medications": meds,
    }
    dx = _pick_dx(rng, "epidural_lumbar" if region == "lumbar" else "epidural_cervical", rng.choice((1, 2)))
    return _Proc(proc, dx, drugs)


def _interlaminar(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    region = _spine_region(rng, (70, 26, 4))
    meds, drugs = _meds(rng)
    # Medicare does not cover an epidural without imaging (NEC011): always imaged for Medicare.
    imaged = plan == "medicare" or rng.random() < 0.9
    imaging = _imaging_spine(rng) if imaged else "none"
    if region == "lumbar" and rng.random() < 0.15:
        proc = {
            "family": "epidural_interlaminar",
            "region": "sacral",
            "approach": "caudal",
            "levels": ["caudal"],
        }
    else:
        levels = {
            "lumbar": ("L3-L4", "L4-L5", "L5-S1"),
            "cervical": ("C6-C7", "C7-T1"),
            "thoracic": ("T9-T10", "T10-T11", "T11-T12"),
        }[region]
        proc = {
            "family": "epidural_interlaminar",
            "region": region,
            "approach": "interlaminar",
            "levels": [rng.choice(levels)],
        }  # one level per session (policy: 1)
    proc.update({"imaging": imaging, "images_stored": imaging != "none", "medications": meds})
    key = {"lumbar": "epidural_lumbar", "cervical": "epidural_cervical", "thoracic": "epidural_thoracic"}[
        region
    ]
    return _Proc(proc, _pick_dx(rng, key, rng.choice((1, 2))), drugs)


def _facet(
    rng: random.Random,
    plan: str,
    lim: _Limits,
    *,
    purpose: str | None = None,
    region: str | None = None,
    target: str | None = None,
    relief: float | None = None,
    **_: Any,
) -> _Proc:
    region = region or _spine_region(rng, (72, 25, 3))
    purpose = purpose or rng.choices(("diagnostic", "therapeutic"), weights=(60, 40))[0]
    target = target or (
        "medial_branch"
        if purpose == "diagnostic" and rng.random() < 0.8
        else rng.choice(("intraarticular", "medial_branch"))
    )
    k = rng.choices(range(1, lim.facet + 1), weights=[40, 50, 10][: lim.facet])[0]
    joints = {"lumbar": _LUMBAR_JOINTS, "cervical": _CERVICAL_JOINTS, "thoracic": _THORACIC_JOINTS}[region]
    if region == "lumbar" and target == "medial_branch" and rng.random() < 0.5:
        # documented as the nerves blocked: k joints need k+1 consecutive nerves
        levels = _contiguous(rng, _LUMBAR_MB_NERVES[1:], k + 1) if k < 4 else list(_LUMBAR_MB_NERVES)
    else:
        levels = _contiguous(rng, joints, k)
    meds, drugs = _meds(rng, steroid=purpose == "therapeutic")
    proc: dict[str, Any] = {
        "family": "facet_joint",
        "region": region,
        "target": target,
        "purpose": purpose,
        "levels": levels,
        "laterality": _side(rng, 0.55),
        "imaging": _imaging_spine(rng),
        "images_stored": True,
        "medications": meds,
    }
    if purpose == "diagnostic":
        proc["relief_percent"] = (
            relief if relief is not None else float(rng.choice((50, 60, 70, 80, 85, 90, 95)))
        )
    dx = _pick_dx(
        rng, {"lumbar": "facet_lumbar", "cervical": "facet_cervical", "thoracic": "facet_thoracic"}[region]
    )
    return _Proc(proc, dx, drugs)


def _rfa(rng: random.Random, plan: str, lim: _Limits, *, region: str | None = None, **_: Any) -> _Proc:
    region = region or _spine_region(rng, (78, 22, 0))
    joints = _LUMBAR_JOINTS if region == "lumbar" else _CERVICAL_JOINTS
    k = rng.choices(range(1, lim.rfa + 1), weights=[30, 70][: lim.rfa])[0]
    proc = {
        "family": "radiofrequency_ablation",
        "region": region,
        "levels": _contiguous(rng, joints, k),
        "laterality": _side(rng, 0.4),
        "imaging": "fluoroscopy",
        "images_stored": True,
        "medications": [rng.choice(_ANESTHETICS)],
    }
    return _Proc(
        proc,
        _pick_dx(rng, "facet_lumbar" if region == "lumbar" else "facet_cervical"),
        [],
        ("11", "22", "24"),
    )


def _sacroiliac(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    purpose = rng.choices(("diagnostic", "therapeutic"), weights=(30, 70))[0]
    meds, drugs = _meds(rng, steroid=purpose == "therapeutic")
    proc: dict[str, Any] = {
        "family": "sacroiliac_joint",
        "laterality": _side(rng, 0.3),
        "purpose": purpose,
        "imaging": "fluoroscopy",
        "images_stored": True,
        "medications": meds,
    }
    if purpose == "diagnostic":
        proc["relief_percent"] = float(rng.choice((50, 75, 80, 90)))
    return _Proc(proc, _pick_dx(rng, "sacroiliac"), drugs)


def _trigger_point(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    n = rng.choices((1, 2, 3, 4, 5), weights=(20, 30, 25, 15, 10))[0]
    proc = {
        "family": "trigger_point",
        "muscles": rng.sample(_MUSCLES, n),
        "imaging": "none",
        "medications": [rng.choice(("lidocaine 1% 5 mL", "bupivacaine 0.25% 4 mL"))],
    }
    pool = DX["trigger_point"] + (DX["trigger_point_commercial"] if plan != "medicare" else ())
    return _Proc(proc, [rng.choice(pool)], [], ("11",))


def _nerve_block(rng: random.Random, plan: str, lim: _Limits, *, nerve: str | None = None, **_: Any) -> _Proc:
    nerve = (
        nerve
        or rng.choices(
            ("greater_occipital", "genicular", "femoral", "sciatic", "sacroiliac_lateral_branches", "other"),
            weights=(35, 25, 8, 10, 12, 10),
        )[0]
    )
    side = _side(rng, 0.5 if nerve == "greater_occipital" else 0.15)
    imaging = {
        "greater_occipital": rng.choice(("none", "ultrasound")),
        "other": rng.choice(("none", "ultrasound")),
        "sacroiliac_lateral_branches": "fluoroscopy",
    }.get(nerve, rng.choice(("ultrasound", "fluoroscopy")))
    proc = {
        "family": "peripheral_nerve_block",
        "nerve": nerve,
        "laterality": side,
        "imaging": imaging,
        "images_stored": imaging != "none",
        "medications": [rng.choice(_ANESTHETICS), "dexamethasone 4 mg"],
    }
    if nerve in ("genicular", "sciatic", "other"):
        dx = list(DX[f"{nerve}_nerve_{side}" if nerve == "other" else f"{nerve}_{side}"])
    elif nerve == "sacroiliac_lateral_branches":
        dx = _pick_dx(rng, "sacroiliac")
    else:
        dx = _pick_dx(rng, nerve)
    return _Proc(proc, dx, [], ("11", "22"))


def _scs(rng: random.Random, plan: str, lim: _Limits, *, stage: str | None = None, **_: Any) -> _Proc:
    stage = stage or rng.choices(("trial", "implant", "revision"), weights=(60, 32, 8))[0]
    proc: dict[str, Any] = {"family": "spinal_cord_stimulator", "stage": stage, "imaging": "fluoroscopy"}
    if stage == "trial":
        proc.update(
            {
                "leads": rng.choice((1, 2)),
                "lead_type": "percutaneous",
                "relief_percent": float(rng.choice((50, 60, 70, 80))),
            }
        )
        pos: tuple[str, ...] = ("11", "24")
    elif stage == "implant":
        if rng.random() < 0.25:
            proc.update({"leads": 1, "lead_type": "paddle"})
        else:
            proc.update({"leads": 2, "lead_type": "percutaneous"})
        pos = ("22", "24")
    else:
        proc.update({"leads": 0})
        pos = ("22", "24")
    dx = _pick_dx(rng, "scs", 2)
    return _Proc(proc, dx, [], pos)


def _vertebral(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    seq = ("T8", "T9", "T10", "T11", "T12") if rng.random() < 0.5 else ("L1", "L2", "L3", "L4")
    k = rng.choices((1, 2), weights=(75, 25))[0]
    proc = {
        "family": "vertebral_augmentation",
        "kind": rng.choice(("kyphoplasty", "vertebroplasty")),
        "levels": _contiguous(rng, seq, k),
        "imaging": "fluoroscopy",
        "images_stored": True,
    }
    return _Proc(proc, _pick_dx(rng, "vertebral_augmentation"), [], ("22", "24"))


def _drug_test(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    method = rng.choices(
        ("presumptive_direct", "presumptive_instrument", "presumptive_analyzer", "definitive"),
        weights=(30, 20, 20, 30),
    )[0]
    proc: dict[str, Any] = {"family": "drug_test", "method": method}
    if method == "definitive":
        proc["drug_classes"] = rng.sample(_DRUG_CLASSES, rng.randint(3, 16))
    return _Proc(proc, list(DX["drug_test"]), [], ("11",))


_BUILDERS = {
    "epidural_transforaminal": _transforaminal,
    "epidural_interlaminar": _interlaminar,
    "facet_joint": _facet,
    "radiofrequency_ablation": _rfa,
    "sacroiliac_joint": _sacroiliac,
    "trigger_point": _trigger_point,
    "peripheral_nerve_block": _nerve_block,
    "spinal_cord_stimulator": _scs,
    "vertebral_augmentation": _vertebral,
    "drug_test": _drug_test,
}

_INDICATION = {
    "epidural_transforaminal": "radicular pain in a dermatomal pattern, MRI shows foraminal narrowing",
    "epidural_interlaminar": "radicular pain despite therapy, MRI disc protrusion",
    "facet_joint": "axial pain worse with extension and rotation, no radicular signs",
    "radiofrequency_ablation": "facet pain confirmed by two diagnostic medial branch blocks",
    "sacroiliac_joint": "buttock pain, three positive provocative SI tests",
    "trigger_point": "palpable taut bands with referred pain",
    "peripheral_nerve_block": "pain in the nerve's distribution",
    "spinal_cord_stimulator": "persistent neuropathic pain after surgery, failed conservative care",
    "vertebral_augmentation": "painful osteoporotic compression fracture, edema on MRI",
    "drug_test": "compliance monitoring on chronic opioid therapy",
}


# --- encounters --------------------------------------------------------------------------------


class _Gen:
    def __init__(self, seed: int, policies: Any) -> None:
        self.rng = random.Random(f"synth:{seed}")
        self.seed = seed
        self.policies = policies
        self._limits: dict[str, _Limits] = {}
        self._counter = 0

    def limits(self, plan: str) -> _Limits:
        if plan not in self._limits:
            self._limits[plan] = _limits_for(plan, self.policies)
        return self._limits[plan]

    def encounter_dict(
        self,
        patient: dict[str, Any],
        dos: date,
        family: str | None = None,
        practice_id: str | None = None,
        prefix: str = "S",
        **facts: Any,
    ) -> dict[str, Any]:
        rng = self.rng
        payer = patient["_payer"]
        plan = payer["plan"]
        lim = self.limits(plan)
        # where: the patient's home practice mostly; procedures that belong in an ASC sometimes go there
        if family is None:
            pool = _CONDITION_FAMILIES[patient["_condition"]]
            if rng.random() < 0.75:
                family = rng.choice(pool)
            else:
                fams = list(FAMILY_WEIGHTS)
                family = rng.choices(fams, weights=[FAMILY_WEIGHTS[f] for f in fams])[0]
        if practice_id is None:
            practice_id = patient["_home"]
            if family in ASC_FAMILIES and patient["_home"] == "P01" and rng.random() < 0.2:
                practice_id = "ASC1"
            elif rng.random() < 0.05:
                practice_id = "P02" if patient["_home"] == "P01" else "P01"
        practice = next(p for p in PRACTICES if p["id"] == practice_id)
        if practice["kind"] == "asc" and family not in ASC_FAMILIES:
            family = "facet_joint"
        main = _BUILDERS[family](rng, plan, lim, **facts)
        procs = [main]
        second = COMPATIBLE_SECOND.get(family, ())
        if second and not facts and rng.random() < 0.12:
            fam2 = rng.choice(second)
            # with trigger points only the occipital block: 64450-64454 pair with 20552/20553 in NCCI
            p2 = _BUILDERS[fam2](
                rng, plan, lim, **({"nerve": "greater_occipital"} if family == "trigger_point" else {})
            )
            if not (practice["kind"] == "asc" and fam2 not in ASC_FAMILIES):
                procs.append(p2)
        # place of service
        if practice["kind"] == "asc":
            pos = "24"
        else:
            hint = main.pos_hint
            weights = [{"11": 70, "22": 15, "24": 15}[p] for p in hint]
            pos = rng.choices(hint, weights=weights)[0]
        # diagnoses: supporting ones first, a non-specific code only as a secondary
        dx: list[str] = []
        for p in procs:
            for d in p.diagnoses:
                if d not in dx:
                    dx.append(d)
        if rng.random() < 0.3 and len(dx) < 4:
            sec = rng.choices(DX["secondary"], weights=_SECONDARY_WEIGHTS)[0]
            if sec not in dx:
                dx.append(sec)
        dx = dx[:4]
        families = [p.procedure["family"] for p in procs]
        # E/M the same day (office only); drug test at an office visit
        evaluation = None
        if practice["kind"] == "physician" and pos == "11" and rng.random() < 0.25:
            new = rng.random() < 0.15
            evaluation = {
                "code": rng.choice(("99203", "99204") if new else ("99213", "99214")),
                "separately_identifiable": rng.random() < 0.8,
            }
        if (
            practice["kind"] == "physician"
            and pos == "11"
            and "drug_test" not in families
            and rng.random() < 0.05
        ):
            dt = _drug_test(rng, plan, lim)
            procs.append(dt)
            if "Z79.891" not in dx:
                dx = (dx + ["Z79.891"])[:4] if len(dx) < 4 else dx
            families.append("drug_test")
        if family == "drug_test" and evaluation is None:
            evaluation = {"code": rng.choice(("99213", "99214")), "separately_identifiable": True}
        # one drugs entry per HCPCS code (units add up), as a chart's medication record lists them
        merged: dict[str, float] = {}
        if practice["kind"] == "physician":
            for d in (d for p in procs for d in p.drugs):
                merged[d["code"]] = merged.get(d["code"], 0) + d["units"]
        drugs = [{"code": c, "units": u} for c, u in merged.items()]
        self._counter += 1
        enc: dict[str, Any] = {
            "schema": "painrcm.encounter/1",
            "encounter_id": f"{prefix}{self.seed}-{self._counter:07d}",
            "practice": dict(practice),
            "rendering_provider": dict(rng.choice(PROVIDERS[practice_id])),
            "patient": _public_patient(patient),
            "payer": {"id": payer["id"], "plan": plan, "state": practice["state"]},
            "date_of_service": dos.isoformat(),
            "place_of_service": pos,
            "diagnoses": dx,
            "procedures": [p.procedure for p in procs],
            "drugs": drugs,
            "documentation": {
                "conservative_care_weeks": rng.choice((6, 8, 10, 12, 16, 24, 52)),
                "indication": _INDICATION[family],
            },
        }
        if evaluation is not None:
            enc["evaluation"] = evaluation
        if "spinal_cord_stimulator" in families:
            enc["documentation"]["psych_evaluation"] = True
        needs_auth = (plan != "medicare" and any(f in AUTH_FAMILIES for f in families)) or (
            plan == "medicare"
            and practice["state"] in WISER_STATES
            and any(f in WISER_FAMILIES for f in families)
        )
        if needs_auth:
            enc["authorization_number"] = (
                f"UTN{rng.randrange(10**10):010d}" if plan == "medicare" else f"PA-{rng.randrange(10**7):07d}"
            )
        return enc


def _default_engine() -> Any:
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies
    from painrcm.scrub import Engine

    return Engine(load_reference(), load_policies())


def _random_day(rng: random.Random, start: date, days: int) -> date:
    d = start + timedelta(days=rng.randrange(max(days, 1)))
    if d.weekday() >= 5:  # clinics book weekdays
        d -= timedelta(days=d.weekday() - 4)
        d = max(d, start)
    return d


def _patients_arg(patients: int | Sequence[dict[str, Any]] | None, n: int, seed: int) -> list[dict[str, Any]]:
    if patients is None:
        return make_patients(max(1, n // 3), seed)
    if isinstance(patients, int):
        return make_patients(patients, seed)
    return list(patients)


def _finish(encs: list[dict[str, Any]], with_lines: bool, engine: Any) -> list[Encounter]:
    from painrcm.coder import code_encounter

    out = [Encounter.model_validate(e) for e in encs]
    if with_lines:
        for enc in out:
            enc.lines = code_encounter(enc, engine.reference, engine.policy_for(enc))
    return out


def generate_encounter_dicts(
    n: int,
    seed: int,
    *,
    start: date = DEFAULT_START,
    days: int = 365,
    patients: int | Sequence[dict[str, Any]] | None = None,
    family: str | None = None,
    policies: Any = None,
) -> list[dict[str, Any]]:
    """`n` encounter JSON objects (CONTRACTS.md section 2) without lines, dates in
    [start, start + days). `patients`: a pool size or `make_patients` output (default n // 3)."""
    pool = _patients_arg(patients, n, seed)
    gen = _Gen(seed, policies)
    rng = gen.rng
    out = []
    for _ in range(n):
        patient = rng.choice(pool)
        out.append(gen.encounter_dict(patient, _random_day(rng, start, days), family=family))
    return out


def generate_encounters(
    n: int,
    seed: int,
    *,
    with_lines: bool = True,
    start: date = DEFAULT_START,
    days: int = 365,
    patients: int | Sequence[dict[str, Any]] | None = None,
    family: str | None = None,
    engine: Any = None,
) -> list[Encounter]:
    """`n` valid synthetic encounters. With `with_lines`, each carries the coder's own lines
    (as a practice that codes with painrcm would bill them)."""
    engine = engine or _default_engine()
    dicts = generate_encounter_dicts(
        n, seed, start=start, days=days, patients=patients, family=family, policies=engine.policies
    )
    return _finish(dicts, with_lines, engine)


# --- history: care pathways per patient ----------------------------------------------------------


def _pathway(gen: _Gen, patient: dict[str, Any], start: date, end: date) -> list[dict[str, Any]]:
    """One patient's earlier sessions between start and end, following their condition."""
    rng = gen.rng
    cond = patient["_condition"]
    out: list[dict[str, Any]] = []
    day = start + timedelta(days=rng.randrange(0, 60))

    def visit(family: str | None = None, practice_id: str | None = None, **facts: Any) -> None:
        if day < end:
            out.append(gen.encounter_dict(patient, day, family, practice_id, prefix="H", **facts))

    while day < end:
        if cond == "radicular":
            visit(rng.choice(("epidural_transforaminal", "epidural_interlaminar")))
            day += timedelta(days=rng.randint(60, 150))
        elif cond == "facet":
            region = rng.choices(("lumbar", "cervical"), weights=(80, 20))[0]
            thr = 80.0 if patient["_payer"]["plan"] == "medicare" else 50.0
            visit(
                "facet_joint",
                purpose="diagnostic",
                region=region,
                target="medial_branch",
                relief=float(rng.choice((thr, thr + 5, 90))),
            )
            day += timedelta(days=rng.randint(14, 35))
            visit(
                "facet_joint",
                purpose="diagnostic",
                region=region,
                target="medial_branch",
                relief=float(rng.choice((thr, 90, 95))),
            )
            day += timedelta(days=rng.randint(14, 42))
            for _ in range(rng.choice((1, 2))):
                visit("radiofrequency_ablation", region=region)
                day += timedelta(days=rng.randint(190, 330))
        elif cond == "sacroiliac":
            visit("sacroiliac_joint")
            day += timedelta(days=rng.randint(90, 180))
        elif cond == "myofascial":
            visit(rng.choice(("trigger_point", "peripheral_nerve_block")))
            day += timedelta(days=rng.randint(100, 160))
        elif cond == "neuropathic":
            visit("spinal_cord_stimulator", stage="trial")
            day += timedelta(days=rng.randint(21, 60))
            visit("spinal_cord_stimulator", stage="implant")
            day += timedelta(days=rng.randint(200, 500))
        elif cond == "fracture":
            visit("vertebral_augmentation")
            day += timedelta(days=rng.randint(120, 400))
        else:
            visit()
            day += timedelta(days=rng.randint(45, 120))
        if day.weekday() >= 5:
            day += timedelta(days=7 - day.weekday())
    return out


def iter_history_dicts(
    n_encounters: int,
    seed: int,
    *,
    patients: int | Sequence[dict[str, Any]] | None = None,
    end: date = DEFAULT_START,
    days: int = 730,
    policies: Any = None,
) -> Iterator[dict[str, Any]]:
    """Earlier encounters (JSON objects without lines) in [end - days, end), patient by patient,
    each following the patient's care pathway. Lazy: a million-line history never sits in memory
    as objects unless the caller keeps it."""
    pool = _patients_arg(patients, max(1, n_encounters // 6), seed)
    gen = _Gen(seed + 7919, policies)
    made = 0
    i = 0
    while made < n_encounters:
        patient = pool[i % len(pool)]
        i += 1
        for d in _pathway(gen, patient, end - timedelta(days=days), end):
            yield d
            made += 1
            if made >= n_encounters:
                return


def generate_history_dicts(n_encounters: int, seed: int, **kw: Any) -> list[dict[str, Any]]:
    """`iter_history_dicts` as a list."""
    return list(iter_history_dicts(n_encounters, seed, **kw))


def iter_history(
    n_lines: int,
    seed: int,
    *,
    patients: int | Sequence[dict[str, Any]] | None = None,
    end: date = DEFAULT_START,
    days: int = 730,
    with_lines: bool = True,
    engine: Any = None,
) -> Iterator[Encounter]:
    """Earlier encounters until about `n_lines` service lines (coded lines with `with_lines`,
    else documented procedures) have been produced. Lazy."""
    engine = engine or _default_engine()
    pool = _patients_arg(patients, max(1, n_lines // 12), seed)
    total = 0
    for d in iter_history_dicts(10**12, seed, patients=pool, end=end, days=days, policies=engine.policies):
        (enc,) = _finish([d], with_lines, engine)
        yield enc
        total += len(enc.lines) if enc.lines is not None else len(enc.procedures)
        if total >= n_lines:
            return


def generate_history(
    n_lines: int,
    seed: int,
    *,
    patients: int | Sequence[dict[str, Any]] | None = None,
    end: date = DEFAULT_START,
    days: int = 730,
    with_lines: bool = True,
    engine: Any = None,
) -> list[Encounter]:
    """A multi-patient history of about `n_lines` service lines in [end - days, end). Pass the same
    `patients` (a `make_patients` list) to `generate_encounters` so the claims being scrubbed belong
    to patients with a past."""
    return list(
        iter_history(
            n_lines, seed, patients=patients, end=end, days=days, with_lines=with_lines, engine=engine
        )
    )


# --- issue 10: the rest of the pain code set, sides that differ, imaging, drug panels, SCS stages ---
# These builders are reached only by asking for their family (generate_encounters(family=...)), so the
# default mix of families, and every stream generated from a seed before them, is unchanged.


def _sacroiliac_ablation(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    proc = {
        "family": "sacroiliac_ablation",
        "laterality": _side(rng, 0.3),
        "imaging": "fluoroscopy",
        "images_stored": True,
        "medications": [rng.choice(_ANESTHETICS)],
    }
    return _Proc(proc, _pick_dx(rng, "sacroiliac"), [], ("11", "22", "24"))


def _genicular(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    side = rng.choice(("left", "right"))
    proc = {
        "family": "genicular",
        "kind": rng.choice(("block", "ablation")),
        "laterality": side,
        "imaging": rng.choice(("fluoroscopy", "ultrasound")),
        "images_stored": True,
        "medications": [rng.choice(_ANESTHETICS)],
    }
    return _Proc(proc, list(DX[f"genicular_{side}"]), [], ("11", "22"))


def _joint_injection(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    side = rng.choice(("left", "right"))
    imaging = rng.choice(("none", "ultrasound", "fluoroscopy"))
    proc = {
        "family": "joint_injection",
        "joint": rng.choice(("small", "intermediate", "major")),
        "laterality": side,
        "imaging": imaging,
        "images_stored": imaging != "none",
        "medications": ["triamcinolone 40 mg", rng.choice(_ANESTHETICS)],
    }
    return _Proc(proc, list(DX[f"genicular_{side}"]), [], ("11",))


def _sympathetic_block(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    target = rng.choice(("stellate_ganglion", "lumbar_sympathetic", "celiac_plexus"))
    proc: dict[str, Any] = {
        "family": "sympathetic_block",
        "target": target,
        "imaging": rng.choice(("fluoroscopy", "ultrasound", "ct")),
        "images_stored": True,
        "medications": [rng.choice(_ANESTHETICS)],
    }
    if target != "celiac_plexus":
        proc["laterality"] = rng.choice(("left", "right"))
    dx = ["C25.9"] if target == "celiac_plexus" else ["G90.521"]
    return _Proc(proc, dx, [], ("11", "22"))


def _intrathecal_pump(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    service = rng.choice(("refill", "analysis", "analysis_with_programming"))
    proc: dict[str, Any] = {"family": "intrathecal_pump", "service": service}
    if service == "refill":
        proc["by_physician"] = rng.random() < 0.5
    return _Proc(proc, ["G89.4"], [], ("11",))


def _blood_patch(rng: random.Random, plan: str, lim: _Limits, **_: Any) -> _Proc:
    imaging = rng.choice(("none", "fluoroscopy"))
    return _Proc({"family": "blood_patch", "imaging": imaging}, ["G97.1"], [], ("11", "22"))


_BUILDERS.update(
    {
        "sacroiliac_ablation": _sacroiliac_ablation,
        "genicular": _genicular,
        "joint_injection": _joint_injection,
        "sympathetic_block": _sympathetic_block,
        "intrathecal_pump": _intrathecal_pump,
        "blood_patch": _blood_patch,
    }
)
_INDICATION.update(
    {
        "sacroiliac_ablation": "SI joint pain relieved by two lateral branch blocks",
        "genicular": "knee osteoarthritis pain, not a surgical candidate",
        "joint_injection": "painful osteoarthritis with effusion",
        "sympathetic_block": "sympathetically maintained pain",
        "intrathecal_pump": "intrathecal drug delivery for chronic pain",
        "blood_patch": "postdural puncture headache",
    }
)
NEW_FAMILIES = (
    "sacroiliac_ablation",
    "genicular",
    "joint_injection",
    "sympathetic_block",
    "intrathecal_pump",
    "blood_patch",
)
LEVEL_FAMILIES = ("epidural_transforaminal", "facet_joint", "radiofrequency_ablation")


def vary_sides(procedure: dict[str, Any], sides: Sequence[str]) -> list[dict[str, Any]]:
    """The procedure written the way notes with sides that differ are: one entry for the levels done on
    both sides, one per side for the rest (`sides[i]` is right, left or bilateral for level i).
    Lumbar medial branch blocks written as nerves are left as they are (nerves are not split by side)."""
    levels = list(procedure.get("levels") or [])
    if not levels or (any("-" not in lv for lv in levels) and procedure.get("target") == "medial_branch"):
        return [procedure]
    by_side: dict[str, list[str]] = {}
    for i, lv in enumerate(levels):
        by_side.setdefault(sides[i % len(sides)], []).append(lv)
    return [{**procedure, "laterality": side, "levels": lvs} for side, lvs in by_side.items()]


def drug_test_panels(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Several drug tests on one date: presumptive methods and definitive panels (classes overlap)."""
    out: list[dict[str, Any]] = []
    for _ in range(n):
        method = rng.choice(
            ("presumptive_direct", "presumptive_instrument", "presumptive_analyzer", "definitive")
        )
        proc: dict[str, Any] = {"family": "drug_test", "method": method}
        if method == "definitive":
            proc["drug_classes"] = rng.sample(_DRUG_CLASSES, rng.randint(2, 9))
        out.append(proc)
    return out
