"""Build a `Reference` from the packaged data files and the user's imported CMS editions.

Packaged (under ``painrcm/codes/data``): painrcm's code table, modifiers, places of service and
the CMS subsets shipped in ``../shared/reference`` (NCCI v30.1, MUE 2024-04-01, MPFS 2024A).
Imported (``painrcm data import``) files live in ``$PAINRCM_HOME/cms`` with their own
``editions.yaml``; each dataset found there replaces the packaged one. ICD-10-CM comes from the
simple-icd-10-cm package (one fiscal year) plus any ``$PAINRCM_HOME/icd10cm/fyYYYY.txt`` files.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.resources
import importlib.util
import io
import os
import pickle
import re
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml

from painrcm.codes.tables import (
    CodeInfo,
    FeeIndicators,
    Icd10,
    Icd10Set,
    Mpfs,
    Mue,
    MueEntry,
    Ncci,
    PtpRow,
    Reference,
)
from painrcm.errors import InputError

_DATA = "painrcm.codes.data"
_CACHE_VERSION = 1
T = TypeVar("T")


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


def _yaml(text: str, name: str) -> Any:
    try:
        return yaml.safe_load(text)
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


def parse_ptp(rows: Iterable[dict[str, str]], edition: str) -> Ncci:
    table: dict[tuple[str, str], list[PtpRow]] = {}
    for r in rows:
        row = PtpRow(
            column1=r["column1"].strip(),
            column2=r["column2"].strip(),
            modifier_indicator=r["modifier_indicator"].strip(),
            effective=_date(r.get("effective_date")),
            deletion=_date(r.get("deletion_date")),
            rationale=(r.get("rationale") or "").strip(),
        )
        table.setdefault((row.column1, row.column2), []).append(row)
    return Ncci(edition=edition, rows={k: tuple(v) for k, v in table.items()})


def parse_mue(rows: Iterable[dict[str, str]], edition: str) -> Mue:
    out: dict[str, MueEntry] = {}
    for r in rows:
        kind = (r.get("mue_service_type") or "Practitioner").strip()
        if kind != "Practitioner":
            continue
        mai = (r.get("mue_mai") or "").strip()
        out[r["hcpcs"].strip()] = MueEntry(r["hcpcs"].strip(), int(float(r["mue_uos"])), mai[:1])
    return Mue(edition=edition, practitioner=out)


def _indicator(v: str) -> int | None:
    v = (v or "").strip().rstrip("*")
    return int(v) if v.isdigit() else None


def parse_mpfs(rows: Iterable[dict[str, str]], edition: str) -> Mpfs:
    out: dict[str, FeeIndicators] = {}
    for r in rows:
        code = r["hcpcs"].strip()
        out[code] = FeeIndicators(
            code=code,
            status=(r.get("status") or "").strip(),
            global_days=(r.get("global_days") or "").strip(),
            mult_proc=(r.get("mult_proc") or "").strip().rstrip("*"),
            bilateral=_indicator(r.get("bilat_surg") or ""),
        )
    return Mpfs(edition=edition, rows=out)


def parse_icd10_code_list(lines: Iterable[str], fiscal_year: int, source: str) -> Icd10Set:
    """A list of ICD-10-CM codes (chapters and blocks are skipped). Leaf = no longer code below it."""
    codes = sorted(
        {c for raw in lines if (c := raw.split()[0].strip().upper() if raw.strip() else "") and "-" not in c}
        - {""}
    )
    codes = [c for c in codes if c[:1].isalpha()]
    billable = {c for i, c in enumerate(codes) if not (i + 1 < len(codes) and codes[i + 1].startswith(c))}
    return Icd10Set(fiscal_year, source, frozenset(billable), frozenset(codes))


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
    text = res.joinpath(name).read_text(encoding="utf-8")
    return parse_icd10_code_list(text.splitlines(), fy, f"simple-icd-10-cm, CMS {month} {year} release")


def _read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _imported(
    name: str, entry: dict[str, Any], imported_dir: Path, parse: Callable[[list[dict[str, str]], str], T]
) -> T:
    """An imported dataset, parsed once and cached beside it: a full CMS quarter is hundreds of
    thousands of rows, and every command would otherwise pay for parsing them again."""
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
    key = hashlib.sha256(f"{path}|{st.st_mtime_ns}|{st.st_size}|{entry['edition']}|{_CACHE_VERSION}".encode())
    cache = imported_dir / ".cache" / f"{name}-{key.hexdigest()[:16]}.pickle"
    if cache.is_file():
        try:
            with cache.open("rb") as fh:
                # our own cache file, keyed by the source's stat: not untrusted input
                cached: T = pickle.load(fh)
                return cached
        except (OSError, pickle.PickleError, EOFError, AttributeError):
            pass
    value = parse(_read_csv(path.read_text(encoding="utf-8")), str(entry["edition"]))
    try:
        cache.parent.mkdir(exist_ok=True)
        for old in cache.parent.glob(f"{name}-*.pickle"):
            old.unlink(missing_ok=True)
        tmp = cache.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache)
    except OSError:
        pass  # a read-only data folder still works, just slower
    return value


def _dataset(
    name: str, imported: dict[str, Any], imported_dir: Path, parse: Callable[[list[dict[str, str]], str], T]
) -> T:
    entry = imported.get(name)
    if entry:
        return _imported(name, entry, imported_dir, parse)
    packaged = _yaml(packaged_text("cms", "editions.yaml"), "editions.yaml")[name]
    return parse(_read_csv(packaged_text("cms", packaged["file"])), str(packaged["edition"]))


@functools.cache
def load_reference(home: str | None = None) -> Reference:
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
                icd_sets[fy] = parse_icd10_code_list(
                    f.read_text(encoding="utf-8").splitlines(), fy, f"imported {f.name}"
                )

    return Reference(
        codes=parse_codes(codes_doc),
        codes_edition=str(codes_doc.get("edition", "")),
        modifiers={str(k): str(v) for k, v in (mods.get("modifiers") or {}).items()},
        places={str(k): dict(v) for k, v in (pos.get("places") or {}).items()},
        ncci=_dataset("ncci_ptp", imported, cms_dir, parse_ptp),
        mue=_dataset("mue", imported, cms_dir, parse_mue),
        mpfs=_dataset("mpfs", imported, cms_dir, parse_mpfs),
        icd10=Icd10(icd_sets),
    )
