"""Build a `Reference` from the packaged data files and the user's imported CMS editions.

Packaged (under ``painrcm/codes/data``): painrcm's code table, modifiers, places of service and
the CMS subsets shipped in ``../shared/reference`` (NCCI v30.1, MUE 2024-04-01, MPFS 2024A).
Imported (``painrcm data import``) files live in ``$PAINRCM_HOME/cms`` with their own
``editions.yaml``; each dataset found there replaces the packaged one. ICD-10-CM comes from the
simple-icd-10-cm package (one fiscal year) plus any ``$PAINRCM_HOME/icd10cm/fyYYYY.txt`` files.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import importlib.util
import os
import re
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from painrcm.codes.csvindex import CsvIndex
from painrcm.codes.tables import CodeInfo, Icd10, Icd10Set, Mpfs, Mue, Ncci, Reference
from painrcm.errors import InputError

_DATA = "painrcm.codes.data"
_CACHE_VERSION = 2


def painrcm_home() -> Path:
    env = os.environ.get("PAINRCM_HOME")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "painrcm"


def packaged_text(*parts: str) -> str:
    res = importlib.resources.files(_DATA)
    for p in parts:
        res = res.joinpath(p)
    return res.read_text(encoding="utf-8")


# libyaml's parser when PyYAML was built with it: the pure-Python one costs tens of milliseconds
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader (C or Python)
    except yaml.YAMLError as e:
        raise InputError(name, None, f"not valid YAML ({e})") from e


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    v = str(value).strip()
    if not v or v in ("*", "9999-12-31", "99991231"):
        return None
    if re.fullmatch(r"\d{8}", v):
        return date(int(v[:4]), int(v[4:6]), int(v[6:]))
    return date.fromisoformat(v)


def parse_codes(doc: dict[str, Any]) -> dict[str, CodeInfo]:
    out: dict[str, CodeInfo] = {}
    for code, facts in (doc.get("codes") or {}).items():
        f = dict(facts)
        f["addon_of"] = tuple(f.get("addon_of") or ())
        f["stages"] = tuple(f.get("stages") or ())
        for key in ("effective_from", "effective_to"):
            if key in f and not isinstance(f[key], date):
                f[key] = _date(f[key])
        out[str(code)] = CodeInfo(code=str(code), **f)
    return out


def _icd_codes(lines: Iterable[str]) -> list[str]:
    """ICD-10-CM codes from a code list, one per line (first word); chapters and blocks are skipped."""
    out = []
    for raw in lines:
        c = raw.split(None, 1)[0].upper() if raw and not raw.isspace() else ""
        if c and c[0].isalpha() and "-" not in c:
            out.append(c)
    return out


def parse_icd10_code_list(lines: Iterable[str], fiscal_year: int, source: str) -> Icd10Set:
    """A list of ICD-10-CM codes (chapters and blocks are skipped). Leaf = no longer code below it."""
    codes = _icd_codes(lines)
    return Icd10Set(fiscal_year, source, lambda: codes)


def _icd_text_codes(text: str) -> list[str]:
    if " " in text or "\t" in text:
        return _icd_codes(text.splitlines())
    # one code per line (the package's list, painrcm's imports): no per-line splitting needed
    return [c for c in text.upper().split() if c[0].isalpha() and "-" not in c]


def _icd_file(path: Path, fiscal_year: int, source: str) -> Icd10Set:
    """A code list file, read on the first question about its fiscal year."""
    return Icd10Set(fiscal_year, source, lambda: _icd_text_codes(path.read_text(encoding="utf-8")))


def package_icd10() -> Icd10Set:
    # Locate the package's data without importing it: its __init__ parses a 10 MB XML file.
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("simple-icd-10-cm", None, "the ICD-10-CM package is not installed")
    res = Path(next(iter(spec.submodule_search_locations))) / "data"
    name = next(p.name for p in res.iterdir() if p.name.startswith("code-list-"))
    m = re.search(r"code-list-(\w+)-(\d{4})", name)
    month, year = (m.group(1), int(m.group(2))) if m else ("", 0)
    # An April update belongs to the fiscal year that began the October before; an October
    # release starts the next fiscal year.
    fy = year + 1 if month.lower().startswith("oct") else year
    return _icd_file(res / name, fy, f"simple-icd-10-cm, CMS {month} {year} release")


_QUARTER_MONTH = {"A": 1, "B": 4, "C": 7, "D": 10, "JAN": 1, "APR": 4, "JUL": 7, "OCT": 10}


def edition_start(dataset: str, entry: dict[str, Any]) -> date | None:
    """The first date an edition applies to: the manifest's `effective`, else read from its name
    (2026Q4, NCCI v32.3, MUE 2026-10-01, MPFS 2026D / RVU26D / PPRRVU26_OCT)."""
    given = entry.get("effective")
    if isinstance(given, date):
        return given
    if given:
        try:
            return date.fromisoformat(str(given).strip())
        except ValueError:
            return None
    text = " ".join(str(entry.get(k) or "") for k in ("edition", "file"))
    text += " " + " ".join(str(x) for x in entry.get("imported_from") or ())
    m = re.search(r"(20\d{2})[ _-]?Q([1-4])\b", text, re.IGNORECASE)
    if m:
        return date(int(m.group(1)), 3 * int(m.group(2)) - 2, 1)
    if dataset == "ncci_ptp":
        # NCCI versions count years from 1994 and quarters from .0: v30.2 is 2024-07-01
        m = re.search(r"\bv(\d{2})\.?(\d)(?:r\d+)?\b", text, re.IGNORECASE)
        if m and int(m.group(2)) <= 3:
            return date(1994 + int(m.group(1)), 3 * int(m.group(2)) + 1, 1)
    m = re.search(r"\b(20\d{2})-(\d{2})-(\d{2})\b", text)
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if dataset == "mpfs":
        m = re.search(r"\b(20\d{2})\s?([A-D])\b", text) or re.search(
            r"RVU(\d{2})([A-D])", text, re.IGNORECASE
        )
        if m is None:
            m = re.search(r"PPRRVU(?:20)?(\d{2})_?(JAN|APR|JUL|OCT)", text, re.IGNORECASE)
        if m:
            year = int(m.group(1))
            return date(year if year > 99 else 2000 + year, _QUARTER_MONTH[m.group(2).upper()], 1)
    return None


_KEY_COLUMNS = {"ncci_ptp": 2, "mue": 1, "mpfs": 1}


def _table(name: str, entry: dict[str, Any], index: CsvIndex) -> Ncci | Mue | Mpfs:
    edition, effective = str(entry["edition"]), edition_start(name, entry)
    if name == "ncci_ptp":
        return Ncci(edition, index, effective)
    if name == "mue":
        return Mue(edition, index, effective)
    return Mpfs(edition, index, effective)


def _imported(name: str, entry: dict[str, Any], imported_dir: Path) -> Ncci | Mue | Mpfs:
    """An imported dataset, indexed once and cached beside it: a full CMS quarter is hundreds of
    thousands of rows, and every command would otherwise pay for indexing them again."""
    path = imported_dir / str(entry["file"])
    try:
        st = path.stat()
    except OSError as e:
        raise InputError(
            str(path),
            None,
            f"the imported {name} file listed in editions.yaml is missing; "
            "import it again (`painrcm data import`)",
        ) from e
    key = hashlib.sha256(
        f"{path}|{st.st_mtime_ns}|{st.st_size}|{_CACHE_VERSION}|{sys.version_info[:2]}".encode()
    )
    cache = imported_dir / ".cache" / f"{name}-{key.hexdigest()[:16]}.marshal"
    if not cache.is_file() and cache.parent.is_dir():
        for old in cache.parent.glob(f"{name}-*"):
            old.unlink(missing_ok=True)
    index = CsvIndex(lambda: path.read_text(encoding="utf-8"), _KEY_COLUMNS[name], cache=cache)
    return _table(name, entry, index)


@functools.cache
def packaged_editions() -> dict[str, Any]:
    doc: dict[str, Any] = _yaml(packaged_text("cms", "editions.yaml"), "editions.yaml")
    return doc


def _dataset(name: str, imported: dict[str, Any], imported_dir: Path) -> Ncci | Mue | Mpfs:
    entry = imported.get(name)
    if entry:
        return _imported(name, entry, imported_dir)
    packaged = packaged_editions()[name]
    file = str(packaged["file"])
    return _table(name, packaged, CsvIndex(lambda: packaged_text("cms", file), _KEY_COLUMNS[name]))


@functools.cache
def load_reference(home: str | None = None) -> Reference:
    """The reference data for a home folder. Cheap: the CMS tables and ICD-10-CM code sets are read
    when first asked about, so a command that never looks a code up never reads them."""
    base = Path(home) if home else painrcm_home()
    cms_dir = base / "cms"
    manifest = cms_dir / "editions.yaml"
    imported: dict[str, Any] = {}
    if manifest.is_file():
        imported = _yaml(manifest.read_text(encoding="utf-8"), str(manifest)) or {}

    codes_doc = _yaml(packaged_text("codes.yaml"), "codes.yaml")
    mods = _yaml(packaged_text("modifiers.yaml"), "modifiers.yaml")
    pos = _yaml(packaged_text("place_of_service.yaml"), "place_of_service.yaml")

    icd_sets = {}
    pkg = package_icd10()
    icd_sets[pkg.fiscal_year] = pkg
    icd_dir = base / "icd10cm"
    if icd_dir.is_dir():
        for f in sorted(icd_dir.glob("fy*.txt")):
            m = re.fullmatch(r"fy(\d{4})\.txt", f.name)
            if m:
                fy = int(m.group(1))
                icd_sets[fy] = _icd_file(f, fy, f"imported {f.name}")

    ncci, mue, mpfs = (_dataset(n, imported, cms_dir) for n in ("ncci_ptp", "mue", "mpfs"))
    assert isinstance(ncci, Ncci) and isinstance(mue, Mue) and isinstance(mpfs, Mpfs)
    return Reference(
        codes=parse_codes(codes_doc),
        codes_edition=str(codes_doc.get("edition", "")),
        modifiers={str(k): str(v) for k, v in (mods.get("modifiers") or {}).items()},
        places={str(k): dict(v) for k, v in (pos.get("places") or {}).items()},
        ncci=ncci,
        mue=mue,
        mpfs=mpfs,
        icd10=Icd10(icd_sets),
    )
