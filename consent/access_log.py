"""Who has read a child's consent records: the guardian's view of the administrators' reads
(consent.view, consent.list and consent.export in the audit trail), as Estonia's data tracker
shows citizens who read their data. A read is shown by when, what and the reader's role and
channel, never the reader's name; reads of one kind on one day are shown once, with a count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.models import AuditEntry
from consent.states import HELSINKI

READS = ("consent.view", "consent.list")
EXPORT = "consent.export"
SHOWN = 20  # the newest days' reads
READERS = {
    "consent_admin": lazy_gettext("The city's consent administrator"),
    "auditor": lazy_gettext("A national auditor"),
    None: lazy_gettext("An administrator"),
}
CHANNELS = {
    "page": lazy_gettext("administration pages"),
    "api": lazy_gettext("admin API"),
    "cli": lazy_gettext("command line"),
}
ACTIONS = {
    "consent.view": lazy_gettext("opened a consent record"),
    "consent.list": lazy_gettext("saw a consent record in a search"),
    "consent.export": lazy_gettext("exported all the city's consent records"),
}


@dataclass
class Read:
    """One kind of read on one day (Finnish time)."""

    day: date
    last: datetime
    action: str  # consent.view | consent.list | consent.export
    role: str | None  # consent_admin | auditor; None at the command line
    channel: str  # page | api | cli
    times: int = 1


def _key(entry: AuditEntry) -> tuple:
    role = (entry.detail or {}).get("role")
    return entry.at.astimezone(HELSINKI).date(), entry.action, role, entry.channel


def reads(
    session: Session, record_ids: Iterable[str], cities: set[str], since: datetime | None
) -> list[Read]:
    """The administrators' reads of ``record_ids`` and the exports of ``cities`` (the records'
    controllers) made ``since`` the first record, newest first, at most SHOWN."""
    ids = list(record_ids)
    if not ids:
        return []
    found = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.record_id.in_(ids), AuditEntry.action.in_(READS))
            .where(AuditEntry.actor_type == "admin")
            .order_by(AuditEntry.at.desc())
            .limit(500)
        )
    )
    if since is not None:
        exports = session.scalars(
            select(AuditEntry).where(AuditEntry.action == EXPORT, AuditEntry.at >= since)
        )
        found += [e for e in exports if (e.detail or {}).get("city") in cities]
    grouped: dict[tuple, Read] = {}
    for entry in sorted(found, key=lambda e: e.at, reverse=True):
        key = _key(entry)
        if key in grouped:
            grouped[key].times += 1
            continue
        if len(grouped) == SHOWN:
            continue
        day, action, role, channel = key
        grouped[key] = Read(day, entry.at, action, role, channel)
    return list(grouped.values())
