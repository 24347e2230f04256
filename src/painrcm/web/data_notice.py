"""The workspace banner saying the loaded CMS tables are older than the claims being worked.

Compared with the latest date of service among the workspace's claims (not history), at most once a
minute per app: the answer changes when claims are imported or CMS files are, both rare.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from painrcm.codes.freshness import age_notices, notice_text
from painrcm.store.models import Encounter

TTL_SECONDS = 60.0


def banner(app: Any) -> str | None:
    state = app.state
    cached = getattr(state, "data_notice", None)
    now = time.monotonic()
    if cached is not None and now - cached[0] < TTL_SECONDS:
        text: str | None = cached[1]
        return text
    with state.db.session() as s:
        latest = s.scalar(
            select(func.max(Encounter.date_of_service)).where(Encounter.work_status != "history")
        )
    notices = age_notices(state.engine.reference, [latest])
    text = notice_text(notices) or None
    if text:
        text = text[:1].upper() + text[1:]
    state.data_notice = (now, text)
    return text
