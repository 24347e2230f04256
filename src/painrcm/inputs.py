"""Read encounters from files (an adapter): encounter JSON now, X12 837P when present.

Every problem becomes an `InputError` naming the file, the place (a JSON path) and what was
expected; nothing is half-read silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from painrcm.errors import InputError
from painrcm.model import Encounter


def json_path(loc: tuple[int | str, ...]) -> str:
    out = "$"
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


_MESSAGES = {
    "missing": "missing: this field is required",
    "extra_forbidden": "not a field of painrcm.encounter/1 (check the spelling)",
}


def _explain(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    got = err.get("input")
    shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
    msg = str(err.get("msg", "invalid value"))
    if kind.startswith("date"):
        msg = "an ISO date YYYY-MM-DD"
    return f"expected {msg[0].lower() + msg[1:]}; got {shown}"


def encounter_from_obj(obj: Any, file: str, base: str = "$") -> Encounter:
    if not isinstance(obj, dict):
        raise InputError(file, base, "an encounter object (painrcm.encounter/1)")
    schema = obj.get("schema")
    if schema is not None and schema != "painrcm.encounter/1":
        raise InputError(file, f"{base}.schema", f'"painrcm.encounter/1" (got {schema!r})')
    if "claim_id_also_at" in obj:
        # a fact about one file's claims that painrcm.claim_ids decides after reading it, never input
        obj = {k: v for k, v in obj.items() if k != "claim_id_also_at"}
    try:
        return Encounter.model_validate(obj)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function")))
        loc = tuple("schema" if x == "schema_" else x for x in loc)
        path = json_path(loc)
        if base != "$":
            path = base + path[1:]
        raise InputError(file, path, _explain(dict(err))) from e


def load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise InputError(str(path), None, "file not found") from e
    except IsADirectoryError as e:
        raise InputError(str(path), None, "a file, not a folder") from e
    except UnicodeDecodeError as e:
        raise InputError(str(path), f"byte {e.start}", "UTF-8 text") from e
    except OSError as e:
        raise InputError(str(path), None, f"a readable file ({e.strerror})") from e
    return parse_json(text, str(path))


MAX_DEPTH = 64  # no encounter, log or policy nests deeper; more is not a file of ours


def parse_json(text: str, file: str) -> Any:
    """JSON text to Python; a located InputError for invalid JSON or nesting deeper than MAX_DEPTH
    (whatever reads the data next may recurse, and a RecursionError is no message for a user)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(file, f"line {e.lineno}, column {e.colno}", f"valid JSON ({e.msg})") from e
    except RecursionError:
        raise InputError(file, None, f"JSON nested at most {MAX_DEPTH} levels deep") from None
    except ValueError as e:  # an integer of thousands of digits (Python's int-conversion limit)
        raise InputError(file, None, f"numbers of a sensible size ({e})") from None
    stack: list[tuple[Any, int]] = [(data, 1)]  # no recursion here either
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > MAX_DEPTH:
                raise InputError(file, None, f"JSON nested at most {MAX_DEPTH} levels deep")
            stack.extend((v, depth + 1) for v in (node.values() if isinstance(node, dict) else node))
    return data


def is_x12(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError:
        return False
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"ISA")


def read_encounters(path: Path) -> tuple[list[Encounter], list[InputError]]:
    """Encounters in one file: a JSON encounter, a JSON list of them, or an 837P file.

    Returns the claims read and the problems of individual claims (an 837P with one bad claim
    among many still yields the rest). A file that cannot be read at all raises InputError."""
    claims, problems, _warnings, _sources = read_encounters_noted(path)
    return claims, problems


def read_encounters_noted(
    path: Path,
) -> tuple[list[Encounter], list[InputError], list[InputError], list[Any]]:
    """``read_encounters``, the reader's warnings (notes about an 837P that was read anyway) and, for
    each claim, where it was read from in an 837P (painrcm.x12.reader837.Source837) or None."""
    if is_x12(path):
        from painrcm.x12.reader837 import read_837

        try:
            text = path.read_text(encoding="utf-8-sig", errors="strict")
        except UnicodeDecodeError as e:
            raise InputError(str(path), f"byte {e.start}", "ASCII/UTF-8 X12 text") from e
        result = read_837(text, str(path))
        return list(result.claims), list(result.problems), list(result.warnings), list(result.sources)
    data = load_json(path)
    if isinstance(data, list):
        encs = [encounter_from_obj(o, str(path), f"$[{i}]") for i, o in enumerate(data)]
        return encs, [], [], [None] * len(encs)
    return [encounter_from_obj(data, str(path))], [], [], [None]


def iter_paths(
    path: Path, suffixes: tuple[str, ...] = (".json", ".837", ".x12", ".edi", ".txt")
) -> Iterator[Path]:
    """A file, or every file below a folder with one of the suffixes, in a stable order."""
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and p.suffix.lower() in suffixes:
                yield p
    elif path.exists():
        yield path
    else:
        raise InputError(str(path), None, "file or folder not found")
