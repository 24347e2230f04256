"""The search page (/search): the header's search box lands here; results grouped by kind."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from painrcm.store.search import search as run_search
from painrcm.web.deps import Auth, db, page_auth
from painrcm.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: str = "",
    auth: Auth = Depends(page_auth),
    s: Session = Depends(db, scope="function"),
) -> Response:
    result = run_search(s, auth.user, q)
    # one exact hit: straight there (a claim ID or an authorization number typed in full)
    if result.total == 1 and request.query_params.get("go") == "1":
        if result.patients:
            return RedirectResponse(f"/patients/{result.patients[0].person_id}", status_code=303)
        if result.claims:
            return RedirectResponse(f"/claims/{result.claims[0].id}", status_code=303)
    return render(request, "search.html", auth, nav="search", result=result, q=result.query)
