"""Import kind ``x12_278``: a payer's 278 responses into the authorization tracker.

Each decision becomes an authorization-log record exactly as ``painrcm auth import-278`` prints it
(``AuthResponse.authorizations()``, docs/x278.md) and is upserted like an uploaded authorization log
(by practice, number, payer and member). The practice: the one chosen for the upload, else the one
whose NPI is the requesting provider's (2010B). A request file, a broken file or another transaction
is refused with its place; nothing is stored then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from painrcm.errors import InputError
from painrcm.history.auths import AuthLog
from painrcm.store import models as m
from painrcm.x12.x278 import read_278

if TYPE_CHECKING:
    from painrcm.store.imports import ImportResult, Progress

KIND = "x12_278"
LABEL = "278 authorization response"


def import_278(s: Session, data: bytes, file: str, result: ImportResult, progress: Progress | None) -> None:
    from painrcm.store.imports import _save_auths, _text

    read = read_278(_text(data, file), file)
    result.warnings.extend(w.render() for w in read.warnings)
    if not read.responses:
        raise InputError(file, None, "a 278 response (BHT02 11); this file holds only requests (BHT02 13)")
    if result.practice_id is None:
        npis = {r.requester.npi for r in read.responses if r.requester is not None and r.requester.npi}
        found = (
            set(s.scalars(select(m.Practice.id).where(m.Practice.npi.in_(sorted(npis))))) if npis else set()
        )
        if len(found) != 1:
            raise InputError(
                file,
                None,
                "a practice to import the authorizations into: choose one when importing (the requesting "
                "provider's NPI matches "
                + ("no stored practice" if not found else "several practices")
                + ")",
            )
        result.practice_id = found.pop()
    rows: list[dict[str, object]] = []
    for resp in read.responses:
        rows += resp.authorizations()
    records = AuthLog.from_rows(rows, file).all()
    result.records = len(records)
    _save_auths(s, records, result, progress, file)
    from painrcm.store.auth_requests import apply_278_responses

    apply_278_responses(s, result.practice_id, read.responses, None)
