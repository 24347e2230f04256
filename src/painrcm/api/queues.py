"""The work queues as JSON: the same rows, filters, assignment and bulk status as the pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from painrcm.store import queues
from painrcm.web.deps import Auth, api_auth, db

router = APIRouter(prefix="/api/queues", tags=["queues"])


class Bulk(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=1000)
    assignee_id: int | None = Field(default=None, description="for /assign: the user, or null to unassign")
    status: str | None = Field(default=None, description="for /status: the new work status")


def queue(
    request: Request, kind: str, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, Any]:
    """A queue (claims, denials, authorizations, underpayments), filtered by practice, payer, code, edit,
    reason, status (`all` for done rows too), assignee (`me`, `none`, an ID), age (`0-30`...), due
    (`overdue`, `soon`, `later`); sorted by `sort` and `order`; 100 rows a page."""
    try:
        f = queues.parse_filters(kind, dict(request.query_params))
        page = queues.list_queue(s, auth.user, kind, f, request.app.state.engine.policies)
    except queues.BadFilter as e:
        raise HTTPException(400, str(e)) from None
    return {
        "queue": kind,
        "total": page.total,
        "page": page.page,
        "pages": page.pages,
        "due_counts": page.counts,
        "rows": [r.to_dict() for r in page.rows],
    }


def assign(
    kind: str, body: Bulk, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, int]:
    try:
        return {"changed": queues.assign(s, auth.user, kind, body.ids, body.assignee_id)}
    except queues.BadFilter as e:
        raise HTTPException(400, str(e)) from None


def status(
    kind: str, body: Bulk, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
) -> dict[str, int]:
    try:
        return {"changed": queues.set_status(s, auth.user, kind, body.ids, body.status or "")}
    except queues.BadFilter as e:
        raise HTTPException(400, str(e)) from None


def _routes(kind: str) -> None:
    """One concrete path per queue (so the permission matrix walks each one like any other list)."""

    def get_queue(
        request: Request, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
    ) -> dict[str, Any]:
        return queue(request, kind, auth, s)

    def post_assign(
        body: Bulk, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
    ) -> dict[str, int]:
        return assign(kind, body, auth, s)

    def post_status(
        body: Bulk, auth: Auth = Depends(api_auth), s: Session = Depends(db, scope="function")
    ) -> dict[str, int]:
        return status(kind, body, auth, s)

    label = queues.KINDS[kind].lower()
    get_queue.__doc__ = queue.__doc__
    router.add_api_route(f"/{kind}", get_queue, methods=["GET"], summary=f"The {label} queue")
    router.add_api_route(
        f"/{kind}/assign", post_assign, methods=["POST"], summary=f"Assign {label} rows to a user"
    )
    router.add_api_route(
        f"/{kind}/status", post_status, methods=["POST"], summary=f"Change the status of {label} rows"
    )


for _kind in queues.KINDS:
    _routes(_kind)
