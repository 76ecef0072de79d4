"""The cities' consent statistics: each finished day (Finnish time) aggregated once from the
records' stored states (consent.status) into ConsentDaily, per city, school, purpose and
service, so that the statistics page reads small sums, never the raw events. And what the page
shows of a count: statistical disclosure control, so that no child can be singled out.

A count is shown rounded to the nearest 5, and a count from 1 to 4 as "<5": every shown figure
is 0 or a multiple of 5, so subtracting one filter's figure from another's (a school from its
city) never gives back a small count (ONS and Statistics Finland practice: rounding to base 5
with small-cell suppression). A median time to a decision is shown only over 5 decisions or
more, as the band it falls in.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from consent.models import ConsentDaily, ConsentStatus, StatsDay
from consent.states import HELSINKI
from federation.models import CityIdentity, RoleAssignment

METRICS = ("requested", "given", "refused", "withdrawn", "expired", "invalidated")
BANDS = (1, 6, 24, 72, 168, 720)  # hours: a decision within 1 h, 6 h, a day, 3 days, a week, 30
BAND_COLUMNS = (*(f"within_{limit}h" for limit in BANDS), "later")
SMALL = 5


def band(hours: float) -> str:
    """The column of a decision's time: the first band of BANDS it is within, or later."""
    return next((f"within_{limit}h" for limit in BANDS if hours <= limit), "later")


def day_of(moment: datetime) -> date:
    return moment.astimezone(HELSINKI).date()


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(), HELSINKI).astimezone(UTC)


def _school() -> select:
    """A child's school now (the lowest code of their roles), for a record's row."""
    return (
        select(func.min(RoleAssignment.school_code))
        .join(CityIdentity, CityIdentity.id == RoleAssignment.identity_id)
        .where(CityIdentity.person_id == ConsentStatus.child_id)
        .scalar_subquery()
    )


def aggregate(session: Session, first: date, last: date, now: datetime) -> int:
    """Aggregate the days ``first`` to ``last`` (both included, finished days) in one read of
    the records touched in them; returns how many rows it wrote. Flushes."""
    start, end = start_of(first), start_of(last + timedelta(days=1))
    touched = or_(
        *(
            column.between(start, end - timedelta(microseconds=1))
            for column in (
                ConsentStatus.created_at, ConsentStatus.given_at, ConsentStatus.ended_at,
                ConsentStatus.valid_until,
            )
        )
    )  # fmt: skip
    query = select(
        ConsentStatus.city, _school(), ConsentStatus.purpose_id,
        ConsentStatus.recipient_client_id, ConsentStatus.state, ConsentStatus.created_at,
        ConsentStatus.given_at, ConsentStatus.ended_at, ConsentStatus.valid_until,
    ).where(touched)  # fmt: skip
    cells: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys((*METRICS, *BAND_COLUMNS), 0))

    def count(moment: datetime | None, key: tuple, metric: str) -> dict | None:
        if moment is None or not start <= moment < end:
            return None
        cell = cells[(day_of(moment), *key)]
        cell[metric] += 1
        return cell

    def decided(cell: dict | None, made: datetime, at: datetime) -> None:
        if cell is not None:
            cell[band((at - made).total_seconds() / 3600)] += 1

    for city, school, purpose, recipient, state, made, given, ended, until in session.execute(
        query
    ):
        key = (city, school or "", purpose, recipient)
        count(made, key, "requested")
        if given is not None:
            decided(count(given, key, "given"), made, given)
        if state in ("refused", "withdrawn", "invalidated", "expired"):
            cell = count(ended, key, state)
            if state == "refused":
                decided(cell, made, ended)
        elif state == "given" and until is not None and until <= now:
            count(until, key, "expired")  # lapsed since its row was last written
    session.execute(delete(ConsentDaily).where(ConsentDaily.day.between(first, last)))
    rows = [
        {
            "day": day,
            "city": city,
            "school_code": school,
            "purpose_id": purpose,
            "recipient_client_id": recipient,
            **cell,
        }
        for (day, city, school, purpose, recipient), cell in cells.items()
    ]
    if rows:
        session.execute(insert(ConsentDaily), rows)
    done = [{"day": first + timedelta(days=n)} for n in range((last - first).days + 1)]
    session.execute(delete(StatsDay).where(StatsDay.day.between(first, last)))
    session.execute(insert(StatsDay), done)
    session.flush()
    return len(rows)


def catch_up(
    session: Session, now: datetime, max_days: int | None = None
) -> tuple[date, date] | None:
    """Aggregate the finished days not aggregated yet (since the first record), at most
    ``max_days`` of them from the oldest; returns the days done, or None when there were none.
    Flushes."""
    yesterday = day_of(now) - timedelta(days=1)
    last_done = session.scalar(select(func.max(StatsDay.day)))
    if last_done is None:
        first_record = session.scalar(select(func.min(ConsentStatus.created_at)))
        if first_record is None:
            return None
        first = day_of(first_record)
    else:
        first = last_done + timedelta(days=1)
    if first > yesterday:
        return None
    last = yesterday if max_days is None else min(yesterday, first + timedelta(days=max_days - 1))
    aggregate(session, first, last, now)
    return first, last


def shown(count: int) -> str:
    """A count as the statistics show it: 0, "<5", or rounded to the nearest 5."""
    if count <= 0:
        return "0"
    if count < SMALL:
        return "<5"
    return f"{int(5 * round(count / 5)):,}".replace(",", "\u00a0")


def median_band(bands: dict[str, int]) -> str | None:
    """The band column (BAND_COLUMNS) the median decision falls in, over SMALL decisions or
    more; else None."""
    total = sum(bands.get(column, 0) for column in BAND_COLUMNS)
    if total < SMALL:
        return None
    seen = 0
    for column in BAND_COLUMNS:
        seen += bands.get(column, 0)
        if seen * 2 >= total:
            return column
    return "later"
