"""The one error type bad input raises: it names the file, the place and what was expected."""

from __future__ import annotations


class InputError(Exception):
    """Bad input. `place` is a JSON path (``$.procedures[0].family``), an X12 location
    (``segment 14 (SV1)``) or a CSV location (``row 3, column codes``)."""

    def __init__(self, file: str | None, place: str | None, expected: str) -> None:
        self.file = file
        self.place = place
        self.expected = expected
        super().__init__(self.render())

    def render(self) -> str:
        """One line: control characters (line breaks, X12 control-character separators) are escaped."""
        parts = [str(p) for p in (self.file, self.place) if p]
        where = ": ".join(parts)
        text = f"{where}: {self.expected}" if where else self.expected
        return text if text.isprintable() else "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(c: str) -> str:
    return repr(c)[1:-1]
