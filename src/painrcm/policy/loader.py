"""Load, merge and validate payer policy files; resolve the policy for a claim's payer.

Built-in policies ship in ``painrcm/policy/data``. User payer files (``*.yaml``) are read from
``$PAINRCM_HOME/payers``, from every folder in ``$PAINRCM_PAYERS`` (os.pathsep separated) and from
``--payers DIR``. A user file names its ``payer_ids`` and a ``base`` policy and overrides any key
of it: mappings merge key by key, lists and values replace.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from painrcm.codes.loader import painrcm_home
from painrcm.errors import InputError
from painrcm.model import Payer
from painrcm.policy.schema import Policy

BUILT_IN = ("medicare", "commercial")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _place(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "(top level)"


def validate_policy(doc: Any, file: str) -> Policy:
    if not isinstance(doc, dict):
        raise InputError(file, None, "expected a mapping of policy keys (see docs/payers.md)")
    try:
        return Policy.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(x for x in err["loc"] if x not in ("function-after",))
        raise InputError(file, f"key {_place(loc)}", f"{err['msg']} (got {err.get('input')!r})") from e


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(str(path), None, f"cannot read the file ({e.strerror})") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise InputError(str(path), where, f"not valid YAML ({getattr(e, 'problem', e)})") from e


def _builtin_docs() -> dict[str, dict[str, Any]]:
    res = importlib.resources.files("painrcm.policy.data")
    out = {}
    for name in BUILT_IN:
        # libyaml's parser when available: the pure-Python one cost a one-claim scrub tens of ms
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        out[name] = yaml.load(res.joinpath(f"{name}.yaml").read_text(encoding="utf-8"), Loader=loader)
    return out


@dataclass
class PolicyBook:
    """Every policy in force: the built-ins and the user's payer files."""

    built_in: dict[str, Policy]
    by_payer_id: dict[str, Policy] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def for_payer(self, payer: Payer) -> Policy:
        pid = payer.id.strip().upper()
        if pid in self.by_payer_id:
            return self.by_payer_id[pid]
        if payer.plan == "medicare":
            return self.built_in["medicare"]
        return self.built_in["commercial"]

    def all(self) -> list[Policy]:
        return list(self.built_in.values()) + list(self.by_payer_id.values())


def payer_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    dirs = [painrcm_home() / "payers"]
    env = os.environ.get("PAINRCM_PAYERS")
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs += list(extra)
    return dirs


def load_policies(extra_dirs: Iterable[Path] = ()) -> PolicyBook:
    docs = _builtin_docs()
    book = PolicyBook(built_in={k: validate_policy(v, f"built-in {k}.yaml") for k, v in docs.items()})
    for d in payer_dirs(extra_dirs):
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.y*ml")):
            add_payer_file(book, path, docs)
    return book


def add_payer_file(book: PolicyBook, path: Path, docs: dict[str, dict[str, Any]] | None = None) -> Policy:
    return add_payer_doc(book, _read_yaml(path), str(path), path.stem, docs)


def add_payer_doc(
    book: PolicyBook, doc: Any, source: str, default_id: str, docs: dict[str, dict[str, Any]] | None = None
) -> Policy:
    """Merge one payer document onto its base policy, validate it, and file it under its payer IDs."""
    docs = docs or _builtin_docs()
    path = source
    if not isinstance(doc, dict):
        raise InputError(path, None, "expected a mapping with payer_ids, base and the keys to override")
    base_name = doc.get("base", "commercial")
    if base_name not in docs:
        raise InputError(path, "key base", f"one of {', '.join(BUILT_IN)} (got {base_name!r})")
    ids = doc.get("payer_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise InputError(path, "key payer_ids", "a non-empty list of payer IDs (as on the claim)")
    merged = _merge(docs[base_name], doc)
    if "id" not in doc:
        merged["id"] = default_id
    policy = validate_policy(merged, source)
    for pid in ids:
        book.by_payer_id[pid.strip().upper()] = policy
        book.sources[pid.strip().upper()] = source
    return policy
