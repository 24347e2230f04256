"""A CMS table kept as its CSV lines, indexed by key, each row parsed only when it is asked for.

The full CMS files painrcm ships (every HCPCS code of the fee schedule, every MUE, the pain-code NCCI
pairs) hold tens of thousands of rows, and a scrub asks about a handful of codes. Building an object
per row costs more than the rest of a one-claim run; indexing the raw lines by their key costs a few
milliseconds, and a row becomes a dict of strings on its first lookup. Nothing is read until the
first question either: `text` is a callable, so a command that never asks never reads the file.
"""

from __future__ import annotations

import csv
import functools
import marshal
import os
from collections.abc import Callable, Iterator
from pathlib import Path


def _cells(line: str) -> list[str]:
    if '"' in line:  # a quoted cell (a rationale with a comma): the rare, slow path
        return [c.strip() for c in next(csv.reader([line]))]
    return [c.strip() for c in line.split(",")]


class CsvIndex:
    """Rows of one CSV text by the value of its first `key_columns` columns (joined by commas)."""

    def __init__(self, text: Callable[[], str], key_columns: int = 1, cache: Path | None = None) -> None:
        self._text = text
        self._k = key_columns
        self._cache = cache

    @functools.cached_property
    def _index(self) -> tuple[tuple[str, ...], dict[str, str]]:
        if self._cache is None:
            return self._build()
        try:
            with self._cache.open("rb") as fh:
                # our own cache file, named by the source's stat and this Python's marshal format
                header, rows = marshal.load(fh)
            if isinstance(header, tuple) and isinstance(rows, dict):
                return header, rows
        except (OSError, EOFError, ValueError, TypeError):
            pass
        built = self._build()
        try:
            self._cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._cache.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                marshal.dump(built, fh)
            tmp.replace(self._cache)
        except OSError:
            pass  # a read-only data folder still works, just slower
        return built

    def _build(self) -> tuple[tuple[str, ...], dict[str, str]]:
        text = self._text().lstrip("\ufeff")
        head, _, body = text.partition("\n")
        header = tuple(c.lower() for c in _cells(head.rstrip("\r")))
        rows: dict[str, str] = {}
        k = self._k
        get = rows.get
        for line in body.splitlines():
            if not line or line.isspace():
                continue
            key = line.partition(",")[0] if k == 1 else ",".join(line.split(",", k)[:k])
            if '"' in key or " " in key:  # quoted or padded key cells: the rare, slow path
                key = ",".join(_cells(line)[:k])
            old = get(key)
            # most keys have one row; the rest keep theirs joined by newlines (a CSV line has none)
            rows[key] = line if old is None else f"{old}\n{line}"
        return header, rows

    @property
    def header(self) -> tuple[str, ...]:
        return self._index[0]

    def __contains__(self, key: str) -> bool:
        return key in self._index[1]

    def __len__(self) -> int:
        return len(self._index[1])

    def __iter__(self) -> Iterator[str]:
        return iter(self._index[1])

    def rows(self, key: str) -> list[dict[str, str]]:
        """Every row whose key is `key`, as {column: value} (values stripped)."""
        header, index = self._index
        raw = index.get(key)
        if raw is None:
            return []
        return [dict(zip(header, _cells(line), strict=False)) for line in raw.split("\n")]

    def all_rows(self) -> Iterator[dict[str, str]]:
        for key in self._index[1]:
            yield from self.rows(key)
