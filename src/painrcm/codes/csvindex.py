"""A CMS table kept as its CSV lines, indexed by key, each row parsed only when it is asked for.

The full CMS files painrcm ships (every HCPCS code of the fee schedule, every MUE, the pain-code NCCI
pairs) hold tens of thousands of rows, and a scrub asks about a handful of codes. Building an object
per row costs more than the rest of a one-claim run; indexing the raw lines by their key costs a few
milliseconds, and a row becomes a dict of strings on its first lookup. Nothing is read until the
first question either: `text` is a callable, so a command that never asks never reads the file.
"""

from __future__ import annotations

import bisect
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
    """Rows of one CSV text by the value of its first `key_columns` columns (joined by commas).

    The index is the text's lines, sorted: a lookup is a binary search for the lines that start with
    ``key + ","``. Splitting and sorting run in C (a CMS file is already in key order, which Timsort
    checks in one pass), so no Python code runs per row until a row is asked for."""

    def __init__(self, text: Callable[[], str], key_columns: int = 1, cache: Path | None = None) -> None:
        self._text = text
        self._k = key_columns
        self._cache = cache

    @functools.cached_property
    def _index(self) -> tuple[tuple[str, ...], list[str]]:
        if self._cache is None:
            return self._build()
        try:
            with self._cache.open("rb") as fh:
                # our own cache file, named by the source's stat and this Python's marshal format
                header, lines = marshal.load(fh)
            if isinstance(header, tuple) and isinstance(lines, list):
                return header, lines
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

    def _build(self) -> tuple[tuple[str, ...], list[str]]:
        text = self._text().lstrip("\ufeff")
        head, _, body = text.partition("\n")
        header = tuple(c.lower() for c in _cells(head.rstrip("\r")))
        lines = body.splitlines()
        lines.sort()
        del lines[: bisect.bisect_right(lines, "")]  # blank lines sort first
        # Key cells are codes (never quoted or padded in CMS's files or painrcm's normalized ones).
        return header, lines

    def _span(self, key: str) -> tuple[int, int]:
        lines = self._index[1]
        prefix = key + ","
        lo = bisect.bisect_left(lines, prefix)
        hi = lo
        while hi < len(lines) and lines[hi].startswith(prefix):
            hi += 1
        return lo, hi

    @property
    def header(self) -> tuple[str, ...]:
        return self._index[0]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        lo, hi = self._span(key)
        return hi > lo

    @functools.cached_property
    def _keys(self) -> list[str]:
        k = self._k
        keys = dict.fromkeys(
            ln.partition(",")[0] if k == 1 else ",".join(ln.split(",", k)[:k]) for ln in self._index[1]
        )
        return list(keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def rows(self, key: str) -> list[dict[str, str]]:
        """Every row whose key is `key`, as {column: value} (values stripped)."""
        header, lines = self._index
        lo, hi = self._span(key)
        return [dict(zip(header, _cells(line), strict=False)) for line in lines[lo:hi]]

    def all_rows(self) -> Iterator[dict[str, str]]:
        header, lines = self._index
        for line in lines:
            yield dict(zip(header, _cells(line), strict=False))
