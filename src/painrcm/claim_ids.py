"""One rule for repeated claim IDs in a file, used by the command line and the workspace import.

A patient control number (837P CLM01, the encounter ID) identifies a claim for its billing provider:
the same ID twice under one billing provider in one file is two claims the payer cannot tell apart
(the second is rejected as a duplicate, or replaces the first).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator


def repeats(entries: Iterable[tuple[Hashable, str, str]]) -> Iterator[tuple[int, str, str]]:
    """For (billing provider, claim ID, place) entries in file order, yield (index, place, message) for
    every entry whose claim ID already appeared under the same billing provider."""
    seen: dict[tuple[Hashable, str], str] = {}
    for k, (scope, claim_id, place) in enumerate(entries):
        earlier = seen.get((scope, claim_id))
        if earlier is not None:
            yield k, place, repeat_message(claim_id, earlier)
        else:
            seen[(scope, claim_id)] = place


def repeat_message(claim_id: str, earlier: str) -> str:
    return f"a unique encounter ID in the file ({claim_id!r} is also at {earlier})"
