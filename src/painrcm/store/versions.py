"""Claim versions (issue 9): a claim is a sequence of versions, each with who, when, why and the diff
from the version before.

- Version 1 is the claim as first stored. A claim stored before versions existed gets its version 1
  from the stored document the first time a later version is recorded (``ensure_baseline``).
- A re-upload of the same claim ID with different content is a new version while the claim has not
  been submitted, and a *corrected claim* (frequency code 7, the payer's claim control number from
  the latest 835 as REF*F8) once it has; an identical re-upload changes nothing (``save_encounter``).
- Replacing a claim's lines never breaks the remittance lines linked to them (``detach_remits`` /
  ``relink_remits``): that used to end a re-upload in an IntegrityError.

The diff is computed on the encounter documents (painrcm.encounter/1 JSON): claim fields by dotted
path, and lines matched by code and modifiers so that removing a line reads "line 3 removed", not a
shift of every later line.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from painrcm.store import models as m

KIND_LABELS = {
    "upload": "first stored",
    "reupload": "re-uploaded (not yet submitted)",
    "corrected": "corrected claim (re-uploaded after submission)",
    "edit": "edited",
    "fix": "safe fix applied",
    "correction": "marked for correction",
    "void": "marked to void",
    "api": "stored through the API",
}
ACTION_LABELS = {
    "read": "viewed",
    "create": "created",
    "update": "updated",
    "scrub": "scrubbed",
    "fix": "safe fix applied",
    "override": "finding overridden",
    "edit": "edited",
    "submit": "submitted",
    "correct": "marked for correction",
    "void": "marked to void",
    "export": "837P exported",
    "reupload": "re-uploaded",
    "import": "imported",
    "upload": "uploaded",
}
FREQUENCY_LABELS = {"1": "original", "7": "replacement of a prior claim", "8": "void of a prior claim"}
_SKIP = {"schema"}


# --- diff ---------------------------------------------------------------------------------------
def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k in sorted(value):
            if k in _SKIP:
                continue
            _flatten(value[k], f"{path}.{k}" if path else k, out)
    elif isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        for i, v in enumerate(value):
            _flatten(v, f"{path}[{i}]", out)
    else:
        out[path] = value


def _flat(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _flatten(value, "", out)
    return out


def _line_key(line: dict[str, Any]) -> str:
    return "-".join([str(line.get("code") or ""), *[str(x) for x in line.get("modifiers") or []]])


def _line_label(line: dict[str, Any]) -> str:
    key = _line_key(line)
    charge = line.get("charge")
    return key if charge is None else f"{key} (${float(charge):,.2f})"


def diff_documents(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed from `before` to `after`: a list of {field, before, after, change}."""
    if before is None:
        return []
    out: list[dict[str, Any]] = []
    b_top = _flat({k: v for k, v in before.items() if k != "lines"})
    a_top = _flat({k: v for k, v in after.items() if k != "lines"})
    for key in sorted(set(b_top) | set(a_top)):
        if b_top.get(key) != a_top.get(key):
            change = "added" if key not in b_top else "removed" if key not in a_top else "changed"
            out.append({"field": key, "before": b_top.get(key), "after": a_top.get(key), "change": change})
    b_lines = list(before.get("lines") or [])
    a_lines = list(after.get("lines") or [])
    matcher = difflib.SequenceMatcher(
        a=[_line_key(x) for x in b_lines], b=[_line_key(x) for x in a_lines], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs: list[tuple[int | None, int | None]] = []
        if tag == "equal" or tag == "replace" and i2 - i1 == j2 - j1:
            pairs = list(zip(range(i1, i2), range(j1, j2), strict=True))
        else:
            pairs = [(i, None) for i in range(i1, i2)] + [(None, j) for j in range(j1, j2)]
        for bi, ai in pairs:
            if ai is None and bi is not None:
                out.append(
                    {
                        "field": f"line {bi + 1}",
                        "before": _line_label(b_lines[bi]),
                        "after": None,
                        "change": "removed",
                    }
                )
            elif bi is None and ai is not None:
                out.append(
                    {
                        "field": f"line {ai + 1}",
                        "before": None,
                        "after": _line_label(a_lines[ai]),
                        "change": "added",
                    }
                )
            elif bi is not None and ai is not None:
                fb, fa = _flat(b_lines[bi]), _flat(a_lines[ai])
                for key in sorted(set(fb) | set(fa)):
                    if fb.get(key) != fa.get(key):
                        out.append(
                            {
                                "field": f"line {ai + 1} {key}",
                                "before": fb.get(key),
                                "after": fa.get(key),
                                "change": "changed",
                            }
                        )
    return out


def describe(change: dict[str, Any]) -> str:
    """One readable sentence for a diff entry."""

    def show(v: Any) -> str:
        if v is None:
            return "(none)"
        if isinstance(v, list):
            return ", ".join(str(x) for x in v) or "(none)"
        return str(v)

    if change["change"] == "removed":
        return f"{change['field']} removed: {show(change['before'])}"
    if change["change"] == "added":
        return f"{change['field']} added: {show(change['after'])}"
    return f"{change['field']}: {show(change['before'])} → {show(change['after'])}"


# --- storage ------------------------------------------------------------------------------------
def versions_of(s: Session, encounter_pk: int) -> list[m.ClaimVersion]:
    return list(
        s.scalars(
            select(m.ClaimVersion)
            .where(m.ClaimVersion.encounter_pk == encounter_pk)
            .order_by(m.ClaimVersion.number)
        )
    )


def current(s: Session, encounter_pk: int) -> m.ClaimVersion | None:
    return s.scalars(
        select(m.ClaimVersion)
        .where(m.ClaimVersion.encounter_pk == encounter_pk)
        .order_by(m.ClaimVersion.number.desc())
        .limit(1)
    ).first()


def baseline_values(
    encounter_pk: int, source: str | None, document: dict[str, Any], created_at: datetime | None
) -> dict[str, Any]:
    """Version 1 of a claim stored before versions were kept, as column values."""
    return {
        "encounter_pk": encounter_pk,
        "number": 1,
        "kind": "upload",
        "frequency_code": "1",
        "source": source,
        "document": dict(document),
        "diff": [],
        "created_at": created_at or datetime.now(UTC),
    }


def ensure_baseline(s: Session, row: m.Encounter, document: dict[str, Any] | None = None) -> m.ClaimVersion:
    """Version 1 of a claim stored before versions were kept: the document as it stood."""
    found = current(s, row.id)
    if found is not None:
        return found
    first = m.ClaimVersion(
        **baseline_values(
            row.id, row.source, document if document is not None else row.document, row.created_at
        )
    )
    s.add(first)
    s.flush()
    return first


def payer_claim_number(s: Session, encounter_pk: int) -> str | None:
    """The payer's claim control number (CLP07) from the latest 835 that paid or denied this claim."""
    return s.scalars(
        select(m.RemitClaim.payer_claim_number)
        .where(m.RemitClaim.encounter_pk == encounter_pk, m.RemitClaim.payer_claim_number.is_not(None))
        .order_by(m.RemitClaim.id.desc())
        .limit(1)
    ).first()


def record(
    s: Session,
    row: m.Encounter,
    *,
    kind: str,
    before: dict[str, Any] | None,
    user_id: int | None = None,
    reason: str | None = None,
    source: str | None = None,
    frequency_code: str | None = None,
    payer_claim_number: str | None = None,
) -> m.ClaimVersion:
    """Append a version holding the claim's document as it stands now. `before`: the document before
    the change (makes version 1 of it first when the claim had no versions)."""
    previous = None
    if before is not None:
        previous = ensure_baseline(s, row, before)
    if previous is not None:  # the latest version (ensure_baseline returns it)
        number = previous.number + 1
    elif before is None and kind == "upload":  # a new claim
        number = 1
    else:
        latest = current(s, row.id)
        number = latest.number + 1 if latest else 1
    version = m.ClaimVersion(
        **version_values(
            row.id,
            number,
            previous,
            before,
            row.document,
            kind=kind,
            user_id=user_id,
            reason=reason,
            source=source,
            frequency_code=frequency_code,
            payer_claim_number=payer_claim_number,
        )
    )
    s.add(version)
    return version


class Earlier(Protocol):
    """The latest version of a claim as `version_values` reads it (a ClaimVersion row, or its values)."""

    number: int
    frequency_code: str
    payer_claim_number: str | None
    document: dict[str, Any]


def version_values(
    encounter_pk: int,
    number: int,
    previous: Earlier | None,
    before: dict[str, Any] | None,
    document: dict[str, Any],
    *,
    kind: str,
    user_id: int | None = None,
    reason: str | None = None,
    source: str | None = None,
    frequency_code: str | None = None,
    payer_claim_number: str | None = None,
) -> dict[str, Any]:
    """A new version's column values: its document, the diff from the latest version (or from `before`
    when there is none) and its frequency code (one writer of versions for single claims and imports)."""
    # a correction in progress keeps its frequency code and reference until a new original is stored
    freq = frequency_code or (previous.frequency_code if previous is not None else "1")
    ref = payer_claim_number or (previous.payer_claim_number if previous is not None else None)
    return {
        "encounter_pk": encounter_pk,
        "number": number,
        "kind": kind,
        "frequency_code": freq,
        "payer_claim_number": ref if freq in ("7", "8") else None,
        "reason": (reason or "")[:2000] or None,
        "source": (source or "")[:300] or None,
        "user_id": user_id,
        "document": dict(document),
        "diff": diff_documents(previous.document if previous is not None else before, document),
        "created_at": datetime.now(UTC),
    }


# --- remittance links survive a change of lines -------------------------------------------------
Linked = list[tuple[m.RemitLine, str, tuple[str, ...]]]


def detach_remits(s: Session, row: m.Encounter) -> Linked:
    """Unlink the remittance lines pointing at the claim's lines (before the lines are replaced)."""
    by_id = {ln.id: ln for ln in row.lines if ln.id is not None}
    if not by_id:
        return []
    out: Linked = []
    for rl in s.scalars(select(m.RemitLine).where(m.RemitLine.claim_line_id.in_(by_id))):
        old = by_id[rl.claim_line_id]  # type: ignore[index]
        out.append((rl, old.code, tuple(old.modifiers or [])))
        rl.claim_line_id = None
    s.flush()
    return out


def relink_remits(row: m.Encounter, linked: Linked) -> None:
    """Link them again to the line with the same code (and modifiers when still there); a remittance
    line whose service is no longer billed stays on the claim (by its claim) without a line."""
    lines = [(ln.id, ln.code, tuple(ln.modifiers or [])) for ln in row.lines]
    for rl, code, mods in linked:
        rl.claim_line_id = relink_target(lines, code, mods)


def relink_target(
    lines: Sequence[tuple[int, str, tuple[str, ...]]], code: str, modifiers: tuple[str, ...]
) -> int | None:
    """The claim line (id, code, modifiers; in line order) a remittance line of `code` and `modifiers`
    is linked to after the lines were replaced: same code and modifiers, else same code, else none."""
    same = [ln for ln in lines if ln[1] == code]
    exact = [ln for ln in same if ln[2] == modifiers]
    target = (exact or same or [None])[0]
    return target[0] if target is not None else None


# --- views --------------------------------------------------------------------------------------
def _iso(x: datetime | None) -> str | None:
    if x is None:
        return None
    if x.tzinfo is None:
        x = x.replace(tzinfo=UTC)
    return x.isoformat()


def version_dict(v: m.ClaimVersion, users: dict[int, m.User] | None = None) -> dict[str, Any]:
    user = (users or {}).get(v.user_id or -1)
    return {
        "number": v.number,
        "kind": v.kind,
        "kind_label": KIND_LABELS.get(v.kind, v.kind),
        "frequency_code": v.frequency_code,
        "frequency_label": FREQUENCY_LABELS.get(v.frequency_code, v.frequency_code),
        "payer_claim_number": v.payer_claim_number,
        "reason": v.reason,
        "source": v.source,
        "user_id": v.user_id,
        "user": user.name if user else None,
        "created_at": _iso(v.created_at),
        "diff": list(v.diff or []),
        "changes": [describe(c) for c in v.diff or []],
    }


def list_versions(s: Session, row: m.Encounter) -> list[dict[str, Any]]:
    rows = versions_of(s, row.id)
    ids = {v.user_id for v in rows if v.user_id is not None}
    users = {u.id: u for u in s.scalars(select(m.User).where(m.User.id.in_(ids)))} if ids else {}
    if not rows:  # stored before versions were kept: the claim as it stands is its only version
        return [
            {
                "number": 1,
                "kind": "upload",
                "kind_label": KIND_LABELS["upload"],
                "frequency_code": "1",
                "frequency_label": FREQUENCY_LABELS["1"],
                "payer_claim_number": None,
                "reason": None,
                "source": row.source,
                "user_id": None,
                "user": None,
                "created_at": _iso(row.created_at),
                "diff": [],
                "changes": [],
            }
        ]
    return [version_dict(v, users) for v in rows]


def compare(s: Session, row: m.Encounter, a: int, b: int) -> list[dict[str, Any]]:
    """The diff between versions `a` and `b` of the claim (LookupError when one does not exist)."""
    by_number = {v.number: v for v in versions_of(s, row.id)}
    if not by_number:
        by_number = {1: m.ClaimVersion(number=1, document=row.document)}
    if a not in by_number or b not in by_number:
        raise LookupError(f"the claim has versions 1 to {max(by_number)}")
    return diff_documents(by_number[a].document, by_number[b].document)
