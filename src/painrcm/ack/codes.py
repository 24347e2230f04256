"""The acknowledgement code table shipped with painrcm (ack_codes.yaml): own words, edits."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["accepted", "rejected", "pended", "info", "finalized"]


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    outcome: Outcome
    explain: str


class Status(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    explain: str
    send: str | None = None
    prevented_by: list[str] = Field(default_factory=list)


class AckCodes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Literal["painrcm.ack_codes/1"] = Field(alias="schema")
    categories: dict[str, Category]
    statuses: dict[str, Status]
    entities: dict[str, str]
    ack_status: dict[str, Category]
    set_errors: dict[str, str]
    group_errors: dict[str, str]
    segment_errors: dict[str, str]
    element_errors: dict[str, str]
    interchange_status: dict[str, Category]
    segment_edits: dict[str, list[str]]


@lru_cache(maxsize=1)
def ack_codes() -> AckCodes:
    text = resources.files("painrcm.ack").joinpath("ack_codes.yaml").read_text(encoding="utf-8")
    return AckCodes.model_validate(yaml.safe_load(text))
