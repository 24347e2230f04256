"""Logging an exception without its message: a database error's text can quote the statement's data
(patient names, member IDs, dates of birth), so only type names and code locations are logged."""

from __future__ import annotations

import traceback


def safe_trace(e: BaseException) -> str:
    """An exception as type names and code locations only (no messages: they may hold data)."""
    lines: list[str] = []
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        frames = traceback.extract_tb(cur.__traceback__)
        where = " <- ".join(
            f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames[-6:])
        )
        lines.append(f"{type(cur).__module__}.{type(cur).__name__} at {where or '?'}")
        cur = cur.__cause__ or cur.__context__
    return "; caused by ".join(lines)
