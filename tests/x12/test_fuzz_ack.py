"""Mutated 999, 277CA, TA1 and 278 files: read (and explained) or refused with a clean InputError,
never anything else."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings

from painrcm.ack.explain import explain_ack_file
from painrcm.errors import InputError
from painrcm.x12.reader_ack import read_ack
from painrcm.x12.x278 import read_278, write_278_request

from .test_ack import data
from .test_fuzz import mutated
from .test_x278 import CERTIFIED, request, response

ACKS = [
    data(n)
    for n in (
        "999-rejected.x12",
        "999-group-rejected.x12",
        "277ca-mixed.x12",
        "ta1-rejected.x12",
        "999-ta1-context.x12",
    )
]
X278 = [response([CERTIFIED]), write_278_request(request(), now=datetime(2026, 11, 30, 8, 0))]


def _check(fn, text: str) -> None:  # type: ignore[no-untyped-def]
    try:
        fn(text, "mutant.x12")
    except InputError as e:
        assert e.file == "mutant.x12" and e.expected and "\n" not in e.render()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(ACKS))
def test_mutated_acknowledgements_never_crash(text: str) -> None:
    _check(lambda t, f: explain_ack_file(read_ack(t, f)), text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(X278))
def test_mutated_278_never_crash(text: str) -> None:
    def run(t: str, f: str) -> None:
        for resp in read_278(t, f).responses:
            resp.authorizations()

    _check(run, text)
