"""Where a patient stands against every frequency limit of their payer on a date (`painrcm limits`).

This is what a scheduler checks before booking the next injection: sessions used per family and
region in the window, sessions left, the next payable date, and the authorizations on file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from painrcm.dates import add_months, first_day_outside
from painrcm.history import History, Past
from painrcm.history.auths import AuthLog, Authorization
from painrcm.model import Patient
from painrcm.policy.schema import FrequencyLimit, Policy

REGIONS = ("cervical_thoracic", "lumbar_sacral")


@dataclass(frozen=True)
class LimitStanding:
    limit_id: str
    edit: str
    region: str | None
    max: int
    window_months: int
    used: int
    session_dates: list[date]
    unknown_purpose_dates: list[date]

    @property
    def left(self) -> int:
        return max(self.max - self.used, 0)

    def next_payable(self, on: date) -> date:
        """`on` while a session is left (the one field that moves with the date asked while the
        sessions stay the same), else the day the oldest session that must drop out does."""
        if self.used < self.max:
            return on
        return first_day_outside(self.session_dates[self.used - self.max], self.window_months)


@dataclass(frozen=True)
class AuthStanding:
    auth: Authorization
    used_dates: list[date]

    @property
    def left(self) -> int | None:
        return None if self.auth.sessions is None else max(self.auth.sessions - len(self.used_dates), 0)


def session_dates(
    past: Past, limit: FrequencyLimit, region: str | None, start: date, end: date
) -> tuple[set[date], set[date]]:
    """The limit's count over `past` (start < date <= end): the dates of sessions it covers (of
    `region` when the limit counts per region) with its purpose, and, when it names a purpose, the
    dates of sessions of unknown purpose (which might count)."""
    return past.sessions(start, end, limit.families, limit.codes, region, not limit.per_region, limit.purpose)


def window_changes(a: date, b: date, months: Iterable[int]) -> list[tuple[date, date]]:
    """The date ranges (lo, hi] holding every date that is inside the rolling window of one of
    `months` on one of `a` and `b` and outside it on the other.

    A window on D holds start < date <= D with start = add_months(D, -months), and both its ends
    move forward with D (add_months keeps the order of dates), so from a <= b the dates (a, b] come
    in and (add_months(a, -months), add_months(b, -months)] go out. A patient's standing on `b`
    differs from their standing on `a` only by sessions dated in these ranges, and by `next_payable`
    while a session is left."""
    lo, hi = min(a, b), max(a, b)
    ranges = [(lo, hi)] + [(add_months(lo, -n), add_months(hi, -n)) for n in sorted(set(months))]
    return [(x, y) for x, y in ranges if x < y]


def standing(history: History, patient: Patient, policy: Policy, on: date) -> list[LimitStanding]:
    out: list[LimitStanding] = []
    starts = [add_months(on, -limit.window_months) for limit in policy.frequency]
    if not starts:
        return out
    # the services of the widest window, asked once; each limit counts those after its own start
    past = history.past(patient, start=min(starts), end=on)
    for limit, start in zip(policy.frequency, starts, strict=True):
        for region in REGIONS if limit.per_region else (None,):
            found, maybe = session_dates(past, limit, region, start, on)
            known = sorted(found)
            unknown = sorted(maybe - found)
            out.append(
                LimitStanding(
                    limit.id, limit.edit, region, limit.max, limit.window_months, len(known), known, unknown
                )
            )
    return out


def authorizations(
    history: History, patient: Patient, payer_id: str | None, log: AuthLog
) -> list[AuthStanding]:
    out = []
    for a in log.all():
        if not a.member_matches(patient.member_id):
            continue
        if payer_id and a.payer_id.strip().upper() != payer_id.strip().upper():
            continue
        norm = "".join(a.auth_number.split()).upper()
        used = sorted(
            {
                s.date
                for s in history.services(patient)
                if s.authorization_number and "".join(s.authorization_number.split()).upper() == norm
            }
        )
        out.append(AuthStanding(a, used))
    return sorted(out, key=lambda x: x.auth.end_date)
