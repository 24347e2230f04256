"""The bundled synthetic demo set: claims to scrub, their patients' history and an authorization log.

Every name, member ID and date of birth here is invented."""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoPaths:
    claims: list[Path]
    history: Path
    auths: Path


def demo_paths() -> DemoPaths:
    root = Path(str(importlib.resources.files("painrcm.demo").joinpath("data")))
    return DemoPaths(
        claims=sorted((root / "claims").glob("*.json")),
        history=root / "history",
        auths=root / "auths.csv",
    )
