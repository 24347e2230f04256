"""Practice scoping: the one place that decides which practices a user may see.

Admins and supervisors see every practice; a biller sees only the practices assigned. Anything
outside a user's scope is *not found* (404), never *forbidden*: a biller must not even learn that
another practice's claim exists.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from painrcm.store import models as m

T = TypeVar("T")
ALL_PRACTICE_ROLES = ("admin", "supervisor")


class NotFound(Exception):
    """The object does not exist, or the user may not see it (the same answer on purpose)."""


def practice_ids(s: Session, user: m.User) -> set[str] | None:
    """The practices the user may see; None means all of them."""
    if user.role in ALL_PRACTICE_ROLES:
        return None
    return set(s.scalars(select(m.UserPractice.practice_id).where(m.UserPractice.user_id == user.id)))


def restrict(query: Select[Any], column: Any, allowed: set[str] | None) -> Select[Any]:
    return query if allowed is None else query.where(column.in_(allowed))


def get_scoped(s: Session, model: type[T], pk: Any, user: m.User) -> T:
    obj = s.get(model, pk)
    if obj is None:
        raise NotFound
    allowed = practice_ids(s, user)
    if allowed is not None and getattr(obj, "practice_id", None) not in allowed:
        raise NotFound
    return obj


def can_see_practice(s: Session, user: m.User, practice_id: str) -> bool:
    allowed = practice_ids(s, user)
    return allowed is None or practice_id in allowed
