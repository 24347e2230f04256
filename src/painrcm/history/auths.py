"""The prior-authorization log (CONTRACTS.md section 3): CSV with a header row, or a JSON list."""

from __future__ import annotations

import csv
import io
import json
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
        try:
            sessions = int(float(text("sessions")))
        except ValueError:
            raise InputError(
                source, where("sessions"), f"a whole number or empty (got {text('sessions')!r})"
            ) from None
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
    if text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(str(path), f"line {e.lineno}, column {e.colno}", f"valid JSON ({e.msg})") from e
        if not isinstance(data, list):
            raise InputError(str(path), "$", "a JSON list of authorization records")
        return AuthLog.from_rows(data, str(path))
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(
            str(path), "header row", f"the columns {', '.join(COLUMNS)} (missing {', '.join(missing)})"
        )
    rows = [{(k or "").strip(): v for k, v in r.items()} for r in reader]
    return AuthLog.from_rows(rows, str(path))
