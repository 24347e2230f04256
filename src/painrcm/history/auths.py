"""The prior-authorization log (CONTRACTS.md section 3): CSV with a header row, or a JSON list."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from painrcm.errors import InputError

COLUMNS = (
    "auth_number",
    "payer_id",
    "member_id",
    "codes",
    "sessions",
    "start_date",
    "end_date",
    "rendering_npi",
    "status",
)
MAX_SESSIONS = 100_000  # sessions an authorization can grant: more is a typo
STATUSES = ("approved", "pending", "denied")


@dataclass(frozen=True)
class Authorization:
    auth_number: str
    payer_id: str
    member_id: str
    codes: tuple[str, ...]
    sessions: int | None
    start_date: date
    end_date: date
    rendering_npi: str | None
    status: str

    def member_matches(self, member_id: str | None) -> bool:
        return member_id is not None and _norm(member_id) == _norm(self.member_id)


def _norm(s: str) -> str:
    return "".join(s.split()).upper()


@dataclass
class AuthLog:
    source: str
    by_number: dict[str, list[Authorization]]

    def find(self, number: str) -> list[Authorization]:
        return self.by_number.get(_norm(number), [])

    def all(self) -> list[Authorization]:
        return [a for v in self.by_number.values() for a in v]

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]], source: str) -> AuthLog:
        out: dict[str, list[Authorization]] = {}
        for n, row in enumerate(rows, 1):
            a = _parse_row(row, source, n)
            out.setdefault(_norm(a.auth_number), []).append(a)
        return cls(source, out)


def _parse_row(row: dict[str, Any], source: str, n: int) -> Authorization:
    def where(col: str) -> str:
        return f"record {n}, field {col}"

    if not isinstance(row, dict):
        raise InputError(source, f"record {n}", "an object with the authorization log's keys")
    missing = [
        c
        for c in ("auth_number", "payer_id", "member_id", "codes", "start_date", "end_date", "status")
        if not str(row.get(c) if row.get(c) is not None else "").strip()
    ]
    if missing:
        raise InputError(source, where(missing[0]), "a value (required column)")

    def text(col: str) -> str:
        v = row.get(col)
        return "" if v is None else str(v).strip()

    def day(col: str) -> date:
        try:
            return date.fromisoformat(text(col))
        except ValueError:
            raise InputError(source, where(col), f"an ISO date YYYY-MM-DD (got {text(col)!r})") from None

    sessions: int | None = None
    if text("sessions"):
        raw = text("sessions")
        try:
            f = float(raw) if raw.isascii() and len(raw) <= 20 else math.nan
        except ValueError:
            f = math.nan
        if not math.isfinite(f) or f > MAX_SESSIONS:
            raise InputError(
                source,
                where("sessions"),
                f"a whole number up to {MAX_SESSIONS} or empty (got {raw[:20]!r})",
            ) from None
        sessions = int(f)
        if sessions < 0:
            raise InputError(source, where("sessions"), "a number of sessions, 0 or more")
    status = text("status").lower()
    if status not in STATUSES:
        raise InputError(source, where("status"), f"one of {', '.join(STATUSES)} (got {text('status')!r})")
    start, end = day("start_date"), day("end_date")
    if end < start:
        raise InputError(source, where("end_date"), f"a date on or after start_date {start}")
    codes = tuple(
        c.strip().upper() for c in text("codes").replace(";", " ").replace(",", " ").split() if c.strip()
    )
    return Authorization(
        auth_number=text("auth_number"),
        payer_id=text("payer_id"),
        member_id=text("member_id"),
        codes=codes,
        sessions=sessions,
        start_date=start,
        end_date=end,
        rendering_npi=text("rendering_npi") or None,
        status=status,
    )


def load_auth_log(path: Path) -> AuthLog:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InputError(str(path), None, f"a readable authorization log ({e.strerror})") from e
    except UnicodeDecodeError as e:
        raise InputError(str(path), f"byte {e.start}", "UTF-8 text") from e
    if text.lstrip().startswith(("[", "{")):
        from painrcm.inputs import parse_json

        data = parse_json(text, str(path))
        if not isinstance(data, list):
            raise InputError(str(path), "$", "a JSON list of authorization records")
        return AuthLog.from_rows(data, str(path))
    return AuthLog.from_rows(csv_rows(text, str(path)), str(path))


def csv_rows(text: str, source: str) -> list[dict[str, Any]]:
    """The rows of a CSV authorization log (header row first); a malformed CSV is a located InputError."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise InputError(
                source, "header row", f"the columns {', '.join(COLUMNS)} (missing {', '.join(missing)})"
            )
        return [{(k or "").strip(): v for k, v in r.items()} for r in reader]
    except csv.Error as e:
        limit = csv.field_size_limit()
        what = f"fields of at most {limit // 1024} KiB" if "field larger" in str(e) else f"valid CSV ({e})"
        raise InputError(source, f"line {reader.line_num + 1}", what) from None
