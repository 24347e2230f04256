"""Shared test helpers: one engine over the packaged data, and example contexts."""

from __future__ import annotations

from typing import Any

from painrcm.codes.loader import load_reference
from painrcm.model import ClaimResult, Encounter
from painrcm.policy.loader import PolicyBook, add_payer_doc, load_policies
from painrcm.scrub import Engine, scrub_encounter


class _TestEngine:
    def __init__(self) -> None:
        self.engine = Engine(load_reference(), load_policies())

    @property
    def policies(self) -> PolicyBook:
        return self.engine.policies

    def scrub(self, enc: Encounter, *, payer_file: dict[str, Any] | None = None, **kw: Any) -> ClaimResult:
        engine = self.engine
        if payer_file is not None:
            book = load_policies()
            add_payer_doc(book, payer_file, "example payer file", "example")
            engine = Engine(engine.reference, book)
        return scrub_encounter(enc, engine, **kw)


ENGINE = _TestEngine()


def context_for(extra: dict[str, Any], enc: Encounter) -> dict[str, Any]:
    """history/auths for an edit example: {"history": [encounter dicts], "auths": [rows]}."""
    out: dict[str, Any] = {}
    if "policy" in extra:
        out["payer_file"] = extra["policy"]
    if "history" in extra:
        from painrcm.edits.examples import example_encounter
        from painrcm.history import History

        out["history"] = History.from_encounters([example_encounter(h) for h in extra["history"]])
    if "auths" in extra:
        from painrcm.history.auths import AuthLog

        out["auths"] = AuthLog.from_rows(extra["auths"], source="example")
    return out
