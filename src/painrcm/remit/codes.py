"""The CARC/RARC table shipped with painrcm (carc_rarc.yaml): explanations, next actions, edits."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

Action = Literal["correct_and_resubmit", "appeal", "write_off", "bill_patient", "bill_secondary", "no_action"]
ACTIONS: tuple[str, ...] = (
    "correct_and_resubmit",
    "appeal",
    "write_off",
    "bill_patient",
    "bill_secondary",
    "no_action",
)


class CodeInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    explain: str
    action: Action
    send: str
    prevented_by: list[str] = Field(default_factory=list)
    action_by_group: dict[str, Action] = Field(default_factory=dict)
    reduction: bool = False
    no_appeal: bool = False

    def action_for(self, group: str | None) -> Action:
        if group and group in self.action_by_group:
            return self.action_by_group[group]
        return self.action


class CodeTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Literal["painrcm.carc_rarc/1"] = Field(alias="schema")
    carc: dict[str, CodeInfo]
    rarc: dict[str, CodeInfo]


@lru_cache(maxsize=1)
def code_table() -> CodeTable:
    text = resources.files("painrcm.remit").joinpath("carc_rarc.yaml").read_text(encoding="utf-8")
    return CodeTable.model_validate(yaml.safe_load(text))


def carc(code: str) -> CodeInfo | None:
    return code_table().carc.get(code.strip().upper())


def rarc(code: str) -> CodeInfo | None:
    return code_table().rarc.get(code.strip().upper())
