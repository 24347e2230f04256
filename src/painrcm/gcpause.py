"""Pausing Python's cyclic garbage collector around work that builds many long-lived objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# True once this process froze objects for good (keep_for_good): then no_gc leaves the frozen set alone.
# (Asking gc for its frozen count would answer the same, but walks every frozen object: after a large
# history was frozen, that made each file read cost a walk of the whole heap.)
_kept = False


def keep_for_good() -> None:
    """Freeze every object alive now (gc.freeze): data that lives until the process exits, such as a
    loaded history, which the collector would otherwise walk again and again."""
    global _kept
    _kept = True
    gc.freeze()


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is read. Reading builds hundreds of thousands
    of small lists that all stay alive until the end, so every automatic collection in between scans
    them for nothing: on a 20,000-claim file that is most of the run time. Reference counting still
    frees everything as usual; the collector is switched back on afterwards, and what survives the
    read (the result) joins the oldest generation, which the collector scans on its usual schedule."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if not _kept:
                # what the read allocated goes straight to the oldest generation (freeze then
                # unfreeze) instead of the first young collection scanning every object of the result
                gc.freeze()
                gc.unfreeze()
            gc.enable()
