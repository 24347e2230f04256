"""User administration as JSON (admin role only): users, roles, practice assignments, deactivation.
Every change is audited (never the password). The page ``/admin`` calls the same functions."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from painrcm.store import queries_work as q
from painrcm.web.deps import Auth, db, require_role

router = APIRouter(prefix="/api/admin", tags=["admin"])
admin_only = require_role("admin")

Role = Literal["admin", "supervisor", "biller"]


class NewUser(BaseModel):
    email: str = Field(max_length=200)
    name: str = Field(max_length=200)
    password: str = Field(min_length=q.MIN_PASSWORD, max_length=200)
    role: Role
    practices: list[str] = Field(default_factory=list, description="practice IDs (what a biller may see)")


class UserChange(BaseModel):
    role: Role | None = None
    active: bool | None = Field(default=None, description="false deactivates (and signs the user out)")
    practices: list[str] | None = Field(default=None, description="replaces the assignments when given")
    name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, min_length=q.MIN_PASSWORD, max_length=200)


def _http(e: ValueError) -> HTTPException:
    return HTTPException(409 if isinstance(e, q.Conflict) else 400, str(e))


@router.get("/users")
def users(auth: Auth = Depends(admin_only), s: Session = Depends(db, scope="function")) -> dict[str, Any]:
    return {"users": [u.to_dict() for u in q.list_users(s)]}


@router.post("/users", status_code=201)
def create_user(
    body: NewUser, auth: Auth = Depends(admin_only), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    try:
        return q.create_user(
            s,
            auth.user,
            email=body.email,
            name=body.name,
            password=body.password,
            role=body.role,
            practices=body.practices,
        ).to_dict()
    except ValueError as e:
        raise _http(e) from None


@router.get("/users/{user_id}")
def user(
    user_id: int, auth: Auth = Depends(admin_only), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    return q.get_user(s, user_id).to_dict()


@router.patch("/users/{user_id}")
def update_user(
    user_id: int,
    body: UserChange,
    auth: Auth = Depends(admin_only),
    s: Session = Depends(db, scope="function"),
) -> dict[str, Any]:
    """Change role, practices, name, password or active; an admin cannot demote or deactivate themselves."""
    try:
        return q.update_user(
            s,
            auth.user,
            user_id,
            role=body.role,
            active=body.active,
            practices=body.practices,
            name=body.name,
            password=body.password,
        ).to_dict()
    except ValueError as e:
        raise _http(e) from None


class RescrubRequest(BaseModel):
    codes: list[str] = Field(
        default_factory=list, description="only claims with a line of one of these codes"
    )
    pairs: list[tuple[str, str]] = Field(
        default_factory=list, description="only claims with both codes of a pair"
    )
    payers: list[str] = Field(default_factory=list, description="only claims of these payer IDs")
    practice: str | None = None
    workers: int = Field(default=1, ge=1, le=64, description="local processes (RQ workers when Redis is set)")


@router.post("/rescrub")
def rescrub_book(body: RescrubRequest, request: Request, auth: Auth = Depends(admin_only)) -> dict[str, Any]:
    """Re-scrub the open book (or the claims a changed code, pair or payer touches): each claim gets a
    new scrub run in the queues; the answer lists per claim the errors gained and lost (docs/rescrub.md)."""
    from painrcm.store.rescrub import Selection, rescrub

    url = request.app.state.db.engine.url.render_as_string(hide_password=False)
    sel = Selection(
        codes=tuple(c.strip().upper() for c in body.codes),
        pairs=tuple((a.strip().upper(), b.strip().upper()) for a, b in body.pairs),
        payers=tuple(p.strip() for p in body.payers),
        practice=body.practice,
    )
    return rescrub(url, sel, workers=body.workers, user_id=auth.user.id).as_dict()
