"""The audit log for an administrator (issue 9): every change (before, after, reason, who, when) and
every read of patient data, filterable by user, action, object and practice, newest first. Reading
the log is itself audited. Entries carry IDs and what changed, never names or member IDs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from painrcm.store import models as m
from painrcm.store import services, versions

MAX_PER_PAGE = 200


class BadFilter(ValueError):
    """A filter the log cannot use (422 / 400)."""


def _iso(x: datetime | None) -> str | None:
    if x is None:
        return None
    return (x if x.tzinfo else x.replace(tzinfo=UTC)).isoformat()


def actions(s: Session) -> list[str]:
    return sorted(a for a in s.scalars(select(m.AuditEntry.action).distinct()) if a)


def search(
    s: Session,
    admin: m.User,
    *,
    user_id: int | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    practice: str | None = None,
    page: int = 1,
    per_page: int = 100,
) -> dict[str, Any]:
    if admin.role != "admin":
        raise PermissionError("the audit log is for administrators")
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise BadFilter(f"page must be 1 or more and per_page 1 to {MAX_PER_PAGE}")
    q = select(m.AuditEntry)
    if user_id is not None:
        q = q.where(m.AuditEntry.user_id == user_id)
    if action:
        q = q.where(m.AuditEntry.action == action)
    if object_type:
        q = q.where(m.AuditEntry.object_type == object_type)
    if object_id:
        q = q.where(m.AuditEntry.object_id == object_id)
    if practice:
        q = q.where(m.AuditEntry.practice_id == practice)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = list(s.scalars(q.order_by(m.AuditEntry.id.desc()).offset((page - 1) * per_page).limit(per_page)))
    ids = {e.user_id for e in rows if e.user_id is not None}
    users = {u.id: u for u in s.scalars(select(m.User).where(m.User.id.in_(ids)))} if ids else {}
    items = []
    for e in rows:
        u = users.get(e.user_id or -1)
        detail = dict(e.detail or {})
        items.append(
            {
                "id": e.id,
                "at": _iso(e.at),
                "user_id": e.user_id,
                "user": u.name if u else None,
                "role": u.role if u else None,
                "action": e.action,
                "label": versions.ACTION_LABELS.get(e.action, e.action),
                "object_type": e.object_type,
                "object_id": e.object_id,
                "practice_id": e.practice_id,
                "reason": detail.get("reason"),
                "changes": [versions.describe(c) for c in detail.get("changes") or []],
                "detail": detail,
            }
        )
    services.audit(
        s,
        admin.id,
        "read",
        "audit_log",
        None,
        None,
        filters={
            k: v
            for k, v in {
                "user_id": user_id,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "practice": practice,
            }.items()
            if v not in (None, "")
        },
        page=page,
    )
    return {
        "items": items,
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": max(1, -(-total // per_page)),
        "users": [{"id": u.id, "name": u.name} for u in s.scalars(select(m.User).order_by(m.User.name))],
        "actions": actions(s),
    }
