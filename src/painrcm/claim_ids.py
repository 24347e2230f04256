"""One rule for repeated claim IDs in a file (CLM007), used by the command line and the workspace import.

A patient control number (837P CLM01, the encounter ID) identifies a claim for its billing provider:
the same ID twice under one billing provider in one file is two claims the payer cannot tell apart
(the later is rejected as a duplicate, or replaces the first). `painrcm scrub` scrubs every claim and
flags each of them with CLM007 (``Encounter.claim_id_also_at``); the workspace, which keeps one claim
per practice and ID, refuses the file with one line (``refusal``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

SHOWN = 5  # places named per claim; a file repeating one ID 400 times names the first five and a count


def repeats(entries: Sequence[tuple[Hashable, str, str]]) -> dict[int, list[str]]:
    """For (billing provider, claim ID, place) entries in file order: every entry whose claim ID is also
    used by another entry under the same billing provider, with the places of the others in file order
    (the first ``SHOWN``, then ``"N more"`` when there are more)."""
    groups: dict[tuple[Hashable, str], list[int]] = {}
    for k, (scope, claim_id, _place) in enumerate(entries):
        groups.setdefault((scope, claim_id), []).append(k)
    out: dict[int, list[str]] = {}
    for ks in groups.values():
        if len(ks) > 1:
            for k in ks:
                others = [entries[j][2] for j in ks[: SHOWN + 1] if j != k][:SHOWN]
                if len(ks) - 1 > SHOWN:
                    others.append(f"{len(ks) - 1 - SHOWN} more")
                out[k] = others
    return dict(sorted(out.items()))


def refusal(entries: Sequence[tuple[Hashable, str, str]]) -> tuple[int, str] | None:
    """Why the workspace refuses the file, or None: (index of the first entry that repeats an earlier
    claim ID, a one-line message naming CLM007 and the places of the others)."""
    found = repeats(entries)
    seen: set[tuple[Hashable, str]] = set()
    for k, (scope, claim_id, _place) in enumerate(entries):
        if (scope, claim_id) in seen:
            return k, (
                f"CLM007: claim ID {claim_id!r} is also used at {', '.join(found[k])}; the workspace keeps "
                "one claim per ID and practice, so nothing was imported: give each claim its own ID"
            )
        seen.add((scope, claim_id))
    return None
