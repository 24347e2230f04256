"""Import CMS's own published files into painrcm's normalized reference CSVs.

This is an adapter (it reads and writes files); the engine never imports it. It understands:

* NCCI PTP practitioner quarterly files: zip archives of tab-delimited ``.txt`` parts (CMS splits
  the practitioner table into several), or the ``.txt`` parts themselves, or painrcm's own
  normalized CSV (``column1,column2,modifier_indicator,deletion_date,rationale[,effective_date]``).
* MUE practitioner quarterly file: a zip with a ``.csv`` whose first rows are a copyright notice,
  then ``HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale``.
* Physician fee schedule RVU file (``PPRRVUyy_MMM.csv``, alone or inside ``RVUyyX.zip``): several
  title lines, then a header (one or two rows) whose first cell is ``HCPCS``. Rows with a modifier
  are dropped, and so is the DESCRIPTION column (AMA text).
* ICD-10-CM code files for a fiscal year: ``icd10cm-codes-YYYY.txt`` (code, spaces, description)
  or ``icd10cm-order-YYYY.txt`` (fixed width; the third field is 1 for billable codes).

Results go to ``painrcm_home()/cms`` (with the ``editions.yaml`` manifest the loader reads) and
``painrcm_home()/icd10cm/fyYYYY.txt``. Every write is atomic: a file is parsed completely into a
temporary file first, and nothing in the data folder changes when any row is bad. Every problem is
an `InputError` naming the file, the row and column, and what was expected.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
import re
import secrets
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from painrcm.codes.loader import edition_start, load_reference, painrcm_home
from painrcm.errors import InputError

PTP_FIELDS = ["column1", "column2", "modifier_indicator", "deletion_date", "rationale", "effective_date"]
MUE_FIELDS = ["hcpcs", "mue_uos", "mue_mai", "mue_mai_desc", "mue_service_type", "mue_rationale"]
MPFS_FIELDS = ["hcpcs", "status", "global_days", "mult_proc", "bilat_surg", "asst_surg", "co_surg"]
# kept since the full fee schedule ships: pricing modifiers (26, TC, 53) and what a fee needs
MPFS_FIELDS += ["modifier", "team_surg", "pctc", "work_rvu", "pe_rvu_nonfac", "nonfac_na_ind", "pe_rvu_fac"]
MPFS_FIELDS += ["fac_na_ind", "mp_rvu", "total_rvu_nonfac", "total_rvu_fac", "conv_factor"]
_MPFS_NUMBERS = ("work_rvu", "pe_rvu_nonfac", "pe_rvu_fac", "mp_rvu", "total_rvu_nonfac", "total_rvu_fac")
_MPFS_NUMBERS += ("conv_factor",)

DATASETS = {"ncci_ptp": "NCCI PTP practitioner", "mue": "MUE practitioner", "mpfs": "MPFS RVU indicators"}
MANIFEST = "editions.yaml"
NO_DELETION = "9999-12-31"
_HEADER_SCAN = 200  # rows searched for a header before giving up

_CODE = re.compile(r"[A-Z0-9]{5}")
_ICD = re.compile(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}")


@dataclass(frozen=True)
class ImportResult:
    dataset: str  # ncci_ptp | mue | mpfs | icd10cm
    rows: int
    edition: str
    path: Path
    sources: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Reading sources: plain files and zip members, decoded whatever CMS's encoding was that quarter.


@dataclass(frozen=True)
class Source:
    name: str  # what error messages call it: "x.zip:member.txt" or the path
    text: str


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), None, "no such file") from None
    except IsADirectoryError:
        raise InputError(str(path), None, "a file, not a folder") from None
    except OSError as e:
        raise InputError(str(path), None, f"a readable file ({e.strerror or e})") from None


def _sources(
    path: Path, suffixes: tuple[str, ...], what: str, pick: Callable[[list[str]], list[str]] | None = None
) -> Iterator[Source]:
    """The texts to parse from `path`: the file itself, or the members of a zip whose names end in
    one of `suffixes` (in name order; `pick` may narrow them)."""
    low = path.name.lower()
    if low.endswith((".xlsx", ".xls")):
        raise InputError(
            str(path),
            None,
            f"{what} as text ({', '.join(suffixes)}): painrcm does not read Excel files; "
            "use the text file CMS ships in the same zip archive",
        )
    data = _read_bytes(path)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if low.endswith(".zip"):
            raise InputError(str(path), None, "a zip archive (the file is damaged or not a zip)")
        yield Source(str(path), _decode(data))
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = sorted(
                n
                for n in zf.namelist()
                if not n.endswith("/") and n.lower().endswith(suffixes) and not _junk_member(n)
            )
            if pick is not None:
                names = pick(names)
            if not names:
                listed = ", ".join(sorted(zf.namelist())) or "nothing"
                raise InputError(
                    str(path), None, f"{what} ({', '.join(suffixes)} inside the archive); it holds {listed}"
                )
            for n in names:
                yield Source(f"{path}:{n}", _decode(zf.read(n)))
    except zipfile.BadZipFile as e:
        raise InputError(str(path), None, f"a readable zip archive ({e})") from None


def _junk_member(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith(("._", "~$"))


def _rows(src: Source, delimiter: str | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for each record; the delimiter is a tab when the text has tabs."""
    if delimiter is None:
        head = src.text[:20000]
        delimiter = "\t" if head.count("\t") > head.count(",") else ","
    reader = csv.reader(io.StringIO(src.text, newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            yield reader.line_num, [c.strip() for c in cells]
    except csv.Error as e:
        raise InputError(src.name, f"row {reader.line_num}", f"well-formed delimited text ({e})") from None


def _blank(cells: Sequence[str]) -> bool:
    return not any(cells)


def _cell(cells: Sequence[str], i: int | None) -> str:
    if i is None or i >= len(cells):
        return ""
    return cells[i]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _date(value: str, src: Source, place: str, *, none_ok: bool) -> str:
    """A CMS date (YYYYMMDD; ISO accepted) as ISO text; '*' or blank means none when `none_ok`."""
    v = value.strip()
    if none_ok and v in ("", "*", "99991231", NO_DELETION):
        return NO_DELETION
    try:
        if re.fullmatch(r"\d{8}", v):
            return date(int(v[:4]), int(v[4:6]), int(v[6:])).isoformat()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            return date.fromisoformat(v).isoformat()
    except ValueError:
        pass
    wanted = "a date as YYYYMMDD" + (" or * for none" if none_ok else "")
    raise InputError(src.name, place, f"{wanted}, not {v!r}")


def _code(value: str, src: Source, place: str) -> str:
    v = value.strip().upper()
    if not _CODE.fullmatch(v):
        raise InputError(src.name, place, f"a 5-character HCPCS/CPT code, not {value!r}")
    return v


def _place(line: int, column: str) -> str:
    return f"row {line}, column {column}"


# --------------------------------------------------------------------------------------------
# NCCI PTP


def _ptp_header(cells: list[str]) -> tuple[int, int] | None:
    c1 = c2 = None
    for i, c in enumerate(cells):
        n = _norm(c)
        if c1 is None and re.match(r"column ?1(?!\d)", n) and "column 2" not in n and "column2" not in n:
            c1 = i
        elif c2 is None and re.match(r"column ?2(?!\d)", n):
            c2 = i
    return (c1, c2) if c1 is not None and c2 is not None else None


def parse_ptp(src: Source) -> Iterator[dict[str, str]]:
    """Normalized PTP rows from one CMS practitioner PTP part (or painrcm's normalized CSV)."""
    rows = _rows(src)
    header: list[str] | None = None
    for line, cells in rows:
        low = [c.lower() for c in cells]
        if "column1" in low and "column2" in low and "modifier_indicator" in low:
            yield from _parse_ptp_normalized(src, low, rows)
            return
        if _ptp_header(cells):
            header = cells
            break
        if line > _HEADER_SCAN:
            break
    if header is None:
        raise InputError(
            src.name,
            None,
            "a CMS NCCI PTP file: a header row with 'Column 1' and 'Column 2' columns "
            "(or painrcm's column1,column2,modifier_indicator,... header); none was found",
        )
    c1, c2 = _ptp_header(header)  # type: ignore[misc]
    names = list(header)
    cols: dict[str, int | None] | None = None
    labels = {
        "effective": "Effective Date",
        "deletion": "Deletion Date",
        "modifier": "Modifier",
        "rationale": "PTP Edit Rationale",
    }
    for line, cells in rows:
        if _blank(cells):
            continue
        if cols is None:
            if not _cell(cells, c1) and not _cell(cells, c2):
                # The header continues on this row (CMS splits long labels over lines).
                for i, c in enumerate(cells):
                    if c:
                        names.extend([""] * (i + 1 - len(names)))
                        names[i] = f"{names[i]} {c}"
                continue
            cols = {}
            for key in labels:
                hits = [i for i, n in enumerate(names) if key in _norm(n) and i not in (c1, c2)]
                cols[key] = hits[0] if hits else None
            missing = [labels[k] for k in ("deletion", "modifier") if cols[k] is None]
            if missing:
                raise InputError(
                    src.name,
                    f"row {line - 1}",
                    f"a PTP header with {' and '.join(missing)} columns; found {', '.join(n for n in names if n)}",
                )
        modifier = _cell(cells, cols["modifier"])
        if modifier not in ("0", "1", "9"):
            raise InputError(src.name, _place(line, "Modifier"), f"0, 1 or 9, not {modifier!r}")
        out = {
            "column1": _code(_cell(cells, c1), src, _place(line, "Column 1")),
            "column2": _code(_cell(cells, c2), src, _place(line, "Column 2")),
            "modifier_indicator": modifier,
            "deletion_date": _date(
                _cell(cells, cols["deletion"]), src, _place(line, "Deletion Date"), none_ok=True
            ),
            "rationale": _cell(cells, cols["rationale"]),
            "effective_date": "",
        }
        if cols["effective"] is not None:
            out["effective_date"] = _date(
                _cell(cells, cols["effective"]), src, _place(line, "Effective Date"), none_ok=False
            )
        yield out


def _parse_ptp_normalized(
    src: Source, header: list[str], rows: Iterator[tuple[int, list[str]]]
) -> Iterator[dict[str, str]]:
    idx = {name: i for i, name in enumerate(header)}
    if "deletion_date" not in idx:
        raise InputError(src.name, "row 1", "a deletion_date column in painrcm's PTP CSV")
    for line, cells in rows:
        if _blank(cells):
            continue
        modifier = _cell(cells, idx["modifier_indicator"])
        if modifier not in ("0", "1", "9"):
            raise InputError(src.name, _place(line, "modifier_indicator"), f"0, 1 or 9, not {modifier!r}")
        eff = _cell(cells, idx.get("effective_date"))
        yield {
            "column1": _code(_cell(cells, idx["column1"]), src, _place(line, "column1")),
            "column2": _code(_cell(cells, idx["column2"]), src, _place(line, "column2")),
            "modifier_indicator": modifier,
            "deletion_date": _date(
                _cell(cells, idx["deletion_date"]), src, _place(line, "deletion_date"), none_ok=True
            ),
            "rationale": _cell(cells, idx.get("rationale")),
            "effective_date": _date(eff, src, _place(line, "effective_date"), none_ok=False) if eff else "",
        }


# --------------------------------------------------------------------------------------------
# MUE


def parse_mue(src: Source) -> Iterator[dict[str, str]]:
    """Normalized MUE rows (practitioner services) from CMS's practitioner MUE CSV."""
    rows = _rows(src, ",")
    header: list[str] | None = None
    for line, cells in rows:
        if cells and [c.lower() for c in cells[:2]] == ["hcpcs", "mue_uos"]:
            yield from _parse_mue_normalized(src, [c.lower() for c in cells], rows)
            return
        if cells and _norm(cells[0]).startswith("hcpcs") and sum(1 for c in cells if c) >= 3:
            header = cells
            break
        if line > _HEADER_SCAN:
            break
    if header is None:
        raise InputError(
            src.name,
            None,
            "a CMS MUE file: a header row whose first cell names the HCPCS/CPT code "
            "(e.g. 'HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale')",
        )
    names = [_norm(c) for c in header]
    uos = next((i for i, n in enumerate(names) if "mue value" in n), None)
    mai = next((i for i, n in enumerate(names) if "adjudication" in n or n == "mai"), None)
    why = next((i for i, n in enumerate(names) if "rationale" in n), None)
    if uos is None or mai is None:
        raise InputError(
            src.name,
            "header",
            "MUE columns 'Practitioner Services MUE Values' and 'MUE Adjudication Indicator'; "
            f"found {', '.join(h for h in header if h)}",
        )
    if "practitioner" not in names[uos]:
        raise InputError(
            src.name,
            f"column {header[uos]}",
            "the practitioner services MUE file (this looks like the facility or DME file)",
        )
    for line, cells in rows:
        if _blank(cells):
            continue
        code = _code(cells[0], src, _place(line, header[0]))
        value = _cell(cells, uos)
        if not value.isdigit():
            raise InputError(src.name, _place(line, header[uos]), f"a whole number of units, not {value!r}")
        raw_mai = _cell(cells, mai)
        m = re.fullmatch(r"([123])\s*(?:[-:]\s*)?(.*)", raw_mai)
        if not m:
            raise InputError(
                src.name,
                _place(line, header[mai]),
                f"an adjudication indicator 1, 2 or 3 (e.g. '2 Date of Service Edit: Policy'), not {raw_mai!r}",
            )
        yield {
            "hcpcs": code,
            "mue_uos": str(int(value)),
            "mue_mai": m.group(1),
            "mue_mai_desc": m.group(2).strip(),
            "mue_service_type": "Practitioner",
            "mue_rationale": _cell(cells, why),
        }


def _parse_mue_normalized(
    src: Source, header: list[str], rows: Iterator[tuple[int, list[str]]]
) -> Iterator[dict[str, str]]:
    idx = {name: i for i, name in enumerate(header)}
    for line, cells in rows:
        if _blank(cells):
            continue
        kind = _cell(cells, idx.get("mue_service_type")) or "Practitioner"
        if kind != "Practitioner":
            continue
        value = _cell(cells, idx["mue_uos"])
        if not value.isdigit():
            raise InputError(src.name, _place(line, "mue_uos"), f"a whole number of units, not {value!r}")
        mai = _cell(cells, idx.get("mue_mai"))
        if mai[:1] not in ("1", "2", "3"):
            raise InputError(src.name, _place(line, "mue_mai"), f"1, 2 or 3, not {mai!r}")
        yield {
            "hcpcs": _code(_cell(cells, idx["hcpcs"]), src, _place(line, "hcpcs")),
            "mue_uos": str(int(value)),
            "mue_mai": mai[:1],
            "mue_mai_desc": _cell(cells, idx.get("mue_mai_desc")),
            "mue_service_type": "Practitioner",
            "mue_rationale": _cell(cells, idx.get("mue_rationale")),
        }


# --------------------------------------------------------------------------------------------
# MPFS (PPRRVU)

_MPFS_ALIASES = {
    "mod": {"MOD", "MODIFIER"},
    "status": {"STATUSCODE", "STATUS", "STATUSIND", "STATUSINDICATOR"},
    "global_days": {"GLOBDAYS", "GLOBALDAYS", "GLOBALSURGERYDAYS", "GLOBAL"},
    "mult_proc": {"MULTPROC", "MULTIPLEPROCEDURE", "MULTIPLEPROCEDURES", "MULTPROCEDURE"},
    "bilat_surg": {"BILATSURG", "BILTSURG", "BILATERALSURGERY", "BILATERALSURG"},
    "asst_surg": {"ASSTSURG", "ASSISTANTSURGERY", "ASSTATSURG", "ASSISTSURG"},
    "co_surg": {"COSURG", "COSURGEONS", "COSURGERY", "COSURGEON"},
    "team_surg": {"TEAMSURG", "TEAMSURGERY", "TEAMSURGEONS"},
    "pctc": {"PCTCIND", "PCTC", "PCTCINDICATOR"},
    "work_rvu": {"WORKRVU", "WORKRVUS"},
    "pe_rvu_nonfac": {"NONFACPERVU", "NONFACILITYPERVU"},
    "nonfac_na_ind": {"NONFACNAINDICATOR", "NONFACILITYNAINDICATOR", "NONFACNAIND"},
    "pe_rvu_fac": {"FACILITYPERVU", "FACPERVU"},
    "fac_na_ind": {"FACILITYNAINDICATOR", "FACNAINDICATOR", "FACNAIND"},
    "mp_rvu": {"MPRVU", "MALPRACTICERVU"},
    "total_rvu_nonfac": {"NONFACILITYTOTAL", "NONFACTOTAL"},
    "total_rvu_fac": {"FACILITYTOTAL", "FACTOTAL"},
    "conv_factor": {"CONVFACTOR", "CONVERSIONFACTOR"},
}
_MPFS_LABELS = {
    "mod": "MOD",
    "status": "STATUS CODE",
    "global_days": "GLOB DAYS",
    "mult_proc": "MULT PROC",
    "bilat_surg": "BILAT SURG",
    "asst_surg": "ASST SURG",
    "co_surg": "CO SURG",
    "team_surg": "TEAM SURG",
    "pctc": "PCTC IND",
    "work_rvu": "WORK RVU",
    "pe_rvu_nonfac": "NON-FAC PE RVU",
    "nonfac_na_ind": "NON-FAC NA INDICATOR",
    "pe_rvu_fac": "FACILITY PE RVU",
    "fac_na_ind": "FACILITY NA INDICATOR",
    "mp_rvu": "MP RVU",
    "total_rvu_nonfac": "NON-FACILITY TOTAL",
    "total_rvu_fac": "FACILITY TOTAL",
    "conv_factor": "CONV FACTOR",
}
_MPFS_REQUIRED = ("mod", "status", "global_days", "mult_proc", "bilat_surg")


def _key(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def parse_mpfs(src: Source) -> Iterator[dict[str, str]]:
    """Normalized fee-schedule indicator rows (codes without a modifier) from a PPRRVU CSV."""
    rows = _rows(src, ",")
    prev: list[str] = []
    header: list[str] | None = None
    header_line = 0
    for line, cells in rows:
        low = [c.lower() for c in cells]
        if low and low[0] == "hcpcs" and "status" in low and "global_days" in low:
            yield from _parse_mpfs_normalized(src, [c.lower() for c in cells], rows)
            return
        if cells and cells[0].upper() == "HCPCS":
            header, header_line = cells, line
            break
        if line > _HEADER_SCAN:
            break
        prev = cells
    if header is None:
        raise InputError(
            src.name,
            None,
            "a CMS physician fee schedule RVU file (PPRRVU): a header row whose first cell is 'HCPCS'",
        )
    rows, below = _peek_continuation(rows)
    width = max(len(header), len(prev), len(below))
    candidates: list[set[str]] = []
    for i in range(width):
        top, mid, low = _cell(prev, i), _cell(header, i), _cell(below, i)
        candidates.append({_key(mid), _key(f"{top} {mid}"), _key(f"{mid} {low}"), _key(f"{top} {mid} {low}")})
    cols: dict[str, int | None] = {}
    for field, aliases in _MPFS_ALIASES.items():
        cols[field] = next((i for i, c in enumerate(candidates) if c & aliases), None)
    missing = [_MPFS_LABELS[f] for f in _MPFS_REQUIRED if cols[f] is None]
    if missing:
        raise InputError(
            src.name,
            f"row {header_line}",
            f"PPRRVU columns {', '.join(missing)} (matched by name, case-insensitively)",
        )
    for line, cells in rows:
        if _blank(cells):
            continue
        code = _code(cells[0], src, _place(line, "HCPCS"))
        status = _cell(cells, cols["status"]).upper()
        if not re.fullmatch(r"[A-Z]", status):
            raise InputError(
                src.name, _place(line, "STATUS CODE"), f"a one-letter status code, not {status!r}"
            )
        glob = _cell(cells, cols["global_days"]).upper()
        if not re.fullmatch(r"[0-9A-Z]{3}", glob):
            raise InputError(
                src.name,
                _place(line, "GLOB DAYS"),
                f"a global period like 000, 010, 090, XXX or ZZZ, not {glob!r}",
            )
        out = {"hcpcs": code, "status": status, "global_days": glob, "modifier": _cell(cells, cols["mod"])}
        for field in MPFS_FIELDS[3:]:
            if field != "modifier":
                out[field] = _cell(cells, cols.get(field))
        yield _checked_mpfs(out, src, line, _MPFS_LABELS)


def _peek_continuation(
    rows: Iterator[tuple[int, list[str]]],
) -> tuple[Iterator[tuple[int, list[str]]], list[str]]:
    """The row under the header when it continues the header (blank first cell); else nothing."""
    for line, cells in rows:
        if _blank(cells):
            continue
        if not cells[0]:
            return rows, cells
        return itertools.chain([(line, cells)], rows), []
    return iter(()), []


def _parse_mpfs_normalized(
    src: Source, header: list[str], rows: Iterator[tuple[int, list[str]]]
) -> Iterator[dict[str, str]]:
    idx = {name: i for i, name in enumerate(header)}
    for line, cells in rows:
        if _blank(cells):
            continue
        out = {"hcpcs": _code(_cell(cells, idx["hcpcs"]), src, _place(line, "hcpcs"))}
        for field in MPFS_FIELDS[1:]:
            out[field] = _cell(cells, idx.get(field))
        yield _checked_mpfs(out, src, line, {f: f for f in MPFS_FIELDS})


def _checked_mpfs(out: dict[str, str], src: Source, line: int, labels: dict[str, str]) -> dict[str, str]:
    for field in ("mult_proc", "bilat_surg", "asst_surg", "co_surg", "team_surg"):
        if out[field] and not re.fullmatch(r"\d\*?", out[field]):
            raise InputError(
                src.name, _place(line, labels[field]), f"a one-digit indicator, not {out[field]!r}"
            )
    for field in _MPFS_NUMBERS:
        if out[field] and not re.fullmatch(r"-?\d*\.?\d+", out[field]):
            raise InputError(src.name, _place(line, labels[field]), f"a number, not {out[field]!r}")
    if out["modifier"] and not re.fullmatch(r"[0-9A-Z]{2}", out["modifier"].upper()):
        raise InputError(src.name, _place(line, labels.get("mod", "modifier")), "a two-character modifier")
    out["modifier"] = out["modifier"].upper()
    return out


# --------------------------------------------------------------------------------------------
# ICD-10-CM

_ORDER_LINE = re.compile(r"\d{5} +(\S+) +([01]) ")
_CODES_LINE = re.compile(r"(\S+)(?:\s+.*)?")


def parse_icd10cm(src: Source) -> list[str]:
    """The billable codes (no dots, sorted) of a CMS code file or tabular order file."""
    lines = src.text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    order = bool(_ORDER_LINE.match(first))
    codes: set[str] = set()
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        if order:
            m = _ORDER_LINE.match(raw)
            if not m:
                raise InputError(
                    src.name,
                    f"line {n}",
                    "an order-file line: a 5-digit order number, the code, then 0 or 1 (billable)",
                )
            code, billable = m.group(1), m.group(2) == "1"
        else:
            code, billable = raw.split()[0], True
        code = code.replace(".", "").upper()
        if not _ICD.fullmatch(code):
            what = "an ICD-10-CM code (letter, digit, then 1 to 5 letters or digits)"
            raise InputError(src.name, f"line {n}", f"{what} at the start of the line, not {code!r}")
        if billable:
            codes.add(code)
    if not codes:
        raise InputError(src.name, None, "at least one billable ICD-10-CM code")
    return sorted(codes)


def _pick_icd(names: list[str]) -> list[str]:
    def base(n: str) -> str:
        return n.rsplit("/", 1)[-1].lower()

    usable = [n for n in names if "addenda" not in base(n) and "index" not in base(n)]
    codes = [n for n in usable if re.search(r"icd10cm[-_]codes", base(n))]
    order = [n for n in usable if re.search(r"icd10cm[-_]order", base(n))]
    return (codes or order)[:1]


# --------------------------------------------------------------------------------------------
# Editions


def _tag(dataset: str, names: Sequence[str]) -> str:
    text = " ".join(names)
    m = re.search(r"(20\d{2})[ _-]?[Qq]([1-4])", text)
    if m:
        return f"{m.group(1)}Q{m.group(2)}"
    if dataset == "ncci_ptp":
        m = re.search(r"v(\d{2})(\d)r(\d+)", text, re.IGNORECASE)
        if m:
            return f"v{int(m.group(1))}.{m.group(2)}r{m.group(3)}"
    if dataset == "mue":
        m = re.search(r"(\d{2})[-_](\d{2})[-_](20\d{2})", text)
        if m:
            return f"{m.group(3)}-{m.group(1)}-{m.group(2)}"
    if dataset == "mpfs":
        m = re.search(r"RVU(\d{2})([A-D])", text, re.IGNORECASE)
        if m:
            return f"20{m.group(1)}{m.group(2).upper()}"
        m = re.search(r"PPRRVU(?:20)?(\d{2})_?([A-Z]{3})", text, re.IGNORECASE)
        if m:
            return f"20{m.group(1)} {m.group(2).upper()}"
    return ""


def default_edition(dataset: str, paths: Sequence[Path]) -> str:
    names = [p.name for p in paths]
    tag = _tag(dataset, names)
    label = DATASETS[dataset] + (f" {tag}" if tag else "")
    return f"{label} (imported from {', '.join(names)})"


# --------------------------------------------------------------------------------------------
# Writing: temp file, then rename; the manifest last, under a lock.


def cms_dir(home: Path | None = None) -> Path:
    return (home or painrcm_home()) / "cms"


def read_manifest(home: Path | None = None) -> dict[str, Any]:
    path = cms_dir(home) / MANIFEST
    if not path.is_file():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise InputError(str(path), None, f"valid YAML ({e})") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(str(path), None, "a mapping of dataset names to {file, edition}")
    return doc


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: imports are rare and manual
        yield
        return
    with open(folder / ".import.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _atomic_write(target: Path, write: Callable[[io.TextIOBase], None]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_csv_temp(
    folder: Path, stem: str, fields: list[str], rows: Iterable[dict[str, str]]
) -> tuple[Path, int]:
    """Write rows to a hidden temp file in `folder`; the caller renames it. Nothing is left on error."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=folder)
    count = 0
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
            w.writeheader()
            for row in rows:
                w.writerow(row)
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp), count


def _install(dataset: str, tmp: Path, edition: str, sources: Sequence[str], home: Path | None) -> Path:
    """Move a finished temp file into place and point the manifest at it (merging other entries)."""
    folder = cms_dir(home)
    final = folder / f"{dataset}.{date.today():%Y%m%d}.{secrets.token_hex(4)}.csv"
    moved = False
    try:
        with _locked(folder):
            manifest = read_manifest(home)
            old = manifest.get(dataset) if isinstance(manifest.get(dataset), dict) else {}
            os.replace(tmp, final)
            moved = True
            manifest[dataset] = {
                "file": final.name,
                "edition": edition,
                "imported_from": list(sources),
                "imported_on": date.today().isoformat(),
            }
            start = edition_start(dataset, manifest[dataset])
            if start is not None:  # what the reference-data age notice compares dates of service with
                manifest[dataset]["effective"] = start.isoformat()
            _write_manifest(folder, manifest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(final if moved else tmp)
        raise
    old_file = str(old.get("file") or "")
    if old_file and old_file != final.name and Path(old_file).name == old_file:
        with contextlib.suppress(OSError):
            (folder / old_file).unlink()
    load_reference.cache_clear()
    return final


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    order = [k for k in (*DATASETS, "icd10cm") if k in manifest] + [
        k for k in manifest if k not in DATASETS and k != "icd10cm"
    ]
    doc = {k: manifest[k] for k in order}
    text = (
        "# Written by `painrcm data import`: the CMS editions imported here replace the packaged ones.\n"
        + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    )
    _atomic_write(folder / MANIFEST, lambda fh: fh.write(text))


def _import_table(
    dataset: str,
    fields: list[str],
    paths: Sequence[Path],
    parse: Callable[[Source], Iterator[dict[str, str]]],
    suffixes: tuple[str, ...],
    what: str,
    edition: str | None,
    home: Path | None,
    pick: Callable[[list[str]], list[str]] | None = None,
) -> ImportResult:
    if not paths:
        raise InputError(None, None, f"at least one {what}")
    seen: list[str] = []

    def all_rows() -> Iterator[dict[str, str]]:
        for src in (s for p in paths for s in _sources(Path(p), suffixes, what, pick)):
            seen.append(src.name)
            found = False
            for row in parse(src):
                found = True
                yield row
            if not found:
                raise InputError(src.name, None, f"at least one data row ({what})")

    tmp, count = _write_csv_temp(cms_dir(home), dataset, fields, all_rows())
    ed = (edition or "").strip() or default_edition(dataset, [Path(p) for p in paths])
    final = _install(dataset, tmp, ed, [Path(p).name for p in paths], home)
    return ImportResult(dataset, count, ed, final, tuple(seen))


def import_ptp(paths: Sequence[Path], edition: str | None = None, home: Path | None = None) -> ImportResult:
    """Import CMS's practitioner PTP files (zips, .txt parts, or painrcm's normalized CSV)."""
    return _import_table(
        "ncci_ptp",
        PTP_FIELDS,
        paths,
        parse_ptp,
        (".txt", ".csv"),
        "NCCI PTP practitioner file",
        edition,
        home,
    )


def import_mue(path: Path, edition: str | None = None, home: Path | None = None) -> ImportResult:
    """Import CMS's practitioner MUE file (zip or .csv, or painrcm's normalized CSV)."""
    return _import_table(
        "mue", MUE_FIELDS, [path], parse_mue, (".csv",), "MUE practitioner file", edition, home
    )


def _pick_pprrvu(names: list[str]) -> list[str]:
    return [n for n in names if "pprrvu" in n.rsplit("/", 1)[-1].lower()][:1]


def import_mpfs(path: Path, edition: str | None = None, home: Path | None = None) -> ImportResult:
    """Import the physician fee schedule RVU file (PPRRVU*.csv, alone or in RVUyyX.zip)."""
    return _import_table(
        "mpfs",
        MPFS_FIELDS,
        [path],
        parse_mpfs,
        (".csv",),
        "physician fee schedule RVU file (PPRRVU*.csv)",
        edition,
        home,
        _pick_pprrvu,
    )


def import_icd10cm(path: Path, fiscal_year: int, home: Path | None = None) -> ImportResult:
    """Import a fiscal year's ICD-10-CM codes file (or order file) as icd10cm/fyYYYY.txt."""
    path = Path(path)
    if not 2015 <= fiscal_year <= 2100:
        raise InputError(None, "--fiscal-year", f"a fiscal year like 2027, not {fiscal_year}")
    src = next(iter(_sources(path, (".txt",), "ICD-10-CM code file (icd10cm-codes-YYYY.txt)", _pick_icd)))
    m = re.search(r"icd10cm[-_](?:codes|order)[-_](20\d{2})\.txt$", src.name, re.IGNORECASE)
    if m and int(m.group(1)) != fiscal_year:
        raise InputError(
            src.name,
            "--fiscal-year",
            f"the fiscal year the file is for ({m.group(1)} by its name), not {fiscal_year}",
        )
    codes = parse_icd10cm(src)
    base = home or painrcm_home()
    target = base / "icd10cm" / f"fy{fiscal_year}.txt"
    _atomic_write(target, lambda fh: fh.write("".join(f"{c}\n" for c in codes)))
    edition = f"ICD-10-CM FY{fiscal_year} (imported from {path.name})"
    folder = cms_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        manifest = read_manifest(home)
        icd = manifest.get("icd10cm") if isinstance(manifest.get("icd10cm"), dict) else {}
        icd[f"fy{fiscal_year}"] = {
            "file": f"../icd10cm/{target.name}",
            "edition": edition,
            "codes": len(codes),
            "imported_on": date.today().isoformat(),
        }
        manifest["icd10cm"] = dict(sorted(icd.items()))
        _write_manifest(folder, manifest)
    load_reference.cache_clear()
    return ImportResult("icd10cm", len(codes), edition, target, (src.name,))


# --------------------------------------------------------------------------------------------
# What is in use


@dataclass(frozen=True)
class DatasetStatus:
    dataset: str
    edition: str
    origin: str  # "imported" | "packaged"
    file: str


def status(home: Path | None = None) -> list[DatasetStatus]:
    """Which edition of each CMS dataset `load_reference` would use for this home."""
    base = home or painrcm_home()
    manifest = read_manifest(base)
    out = []
    for ds in DATASETS:
        entry = manifest.get(ds)
        if isinstance(entry, dict) and entry.get("file"):
            path = cms_dir(base) / str(entry["file"])
            origin = "imported" if path.is_file() else "imported (file missing!)"
            out.append(DatasetStatus(ds, str(entry.get("edition", "")), origin, str(path)))
        else:
            from painrcm.codes.loader import packaged_text

            packaged = yaml.safe_load(packaged_text("cms", MANIFEST))[ds]
            out.append(DatasetStatus(ds, str(packaged["edition"]), "packaged", f"painrcm:{packaged['file']}"))
    icd_dir = base / "icd10cm"
    if icd_dir.is_dir():
        for f in sorted(icd_dir.glob("fy*.txt")):
            if re.fullmatch(r"fy\d{4}\.txt", f.name):
                entry = (manifest.get("icd10cm") or {}).get(f.stem) or {}
                ed = str(entry.get("edition") or f"ICD-10-CM {f.stem.upper()} (imported {f.name})")
                out.append(DatasetStatus(f"icd10cm {f.stem}", ed, "imported", str(f)))
    return out
