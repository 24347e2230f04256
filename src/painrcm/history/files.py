"""History from files (an adapter): encounter JSON files, folders of them, and 837P files.

All or nothing: a file that cannot be read stops the command with the file and place named;
nothing is half-loaded silently.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path

from painrcm.codes.loader import load_reference
from painrcm.codes.tables import Reference
from painrcm.history import History
from painrcm.inputs import iter_paths, read_encounters


def load_history(paths: Iterable[Path], reference: Reference | None = None) -> History:
    ref = reference or load_reference()
    h = History()
    # A bulk load creates millions of long-lived objects: with the cyclic collector running, most of
    # the time goes to re-scanning them (measured: 3x slower). They hold no cycles worth collecting.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for root in paths:
            for path in iter_paths(root):
                claims, problems = read_encounters(path)
                if problems:
                    raise problems[0]
                for enc in claims:
                    h.add(enc, ref)
                h.sources.append(str(path))
    finally:
        if was_enabled:
            gc.enable()
    return h
