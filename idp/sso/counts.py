"""Sign-ins counted per day (Finnish time), city, directory type and service (SignInCount), for
the cities' statistics: one row per combination, incremented in the sign-in's transaction."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import HELSINKI, utcnow
from idp.sso.models import SignInCount


def service_of(next_url: str | None) -> str:
    """The client a sign-in was on its way to: the client_id of an authorization request it
    returns to, or '' (the broker's own pages)."""
    if not next_url or not urlsplit(next_url).path.endswith("/authorize"):
        return ""
    return (parse_qs(urlsplit(next_url).query).get("client_id") or [""])[0][:64]


def count_sign_in(
    session: Session, city: str, directory: str, client_id: str, now: datetime | None = None
) -> None:
    """Add one sign-in to its day's count (a savepoint catches a concurrent first insert)."""
    day = (now or utcnow()).astimezone(HELSINKI).date()
    key = {"day": day, "city": city, "directory": directory[:16], "client_id": client_id}
    bump = (
        update(SignInCount)
        .where(*(getattr(SignInCount, name) == value for name, value in key.items()))
        .values(count=SignInCount.count + 1)
        .execution_options(synchronize_session=False)
    )
    if session.execute(bump).rowcount:
        return
    try:
        with session.begin_nested():
            session.add(SignInCount(**key, count=1))
    except IntegrityError:  # another sign-in made the day's row meanwhile
        session.execute(bump)
