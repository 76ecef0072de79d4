"""Scenario 6's data: a city's worth of consent history on PostgreSQL, written with COPY.

Every child has three records for the benchmark purpose, as years of use leave them: one
refused (requested, one guardian approved, the other refused), one withdrawn (requested, both
approved, one withdrew) and the current one, given (requested, both approved): ten events per
child, so 1 million children make 10 million events. The recipient service knows each child
by its pairwise ``sub`` (oauth_pairwise_subjects), as after the child's sign-ins.

    python -m bench.seed_consent URL CHILDREN   (the benchmark calls seed() itself)
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg

from idp.oidc.subject import sector_of, subject_for

CHUNK = 50_000  # children per COPY batch
START = datetime(2024, 1, 8, 8, 0, tzinfo=UTC)  # the newest records land in 2025


def libpq(url: str) -> str:
    """An SQLAlchemy URL (postgresql+psycopg://...) as libpq takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _ts(moment: datetime) -> str:
    return moment.isoformat()


def _rows(children: list[str], purpose: tuple[str, int], client_id: str) -> Iterator[tuple]:
    """(records, events) lines for a batch of children."""
    purpose_id, version = purpose
    for child in children:
        g1, g2 = str(uuid.uuid4()), str(uuid.uuid4())
        deciders = json.dumps({"all_of": sorted([g1, g2]), "any_of": []})
        day = START + timedelta(minutes=random.randrange(500_000))  # noqa: S311 - test data
        for answers in (
            [("approve", g1), ("refuse", g2)],
            [("approve", g1), ("approve", g2), ("withdraw", g1)],
            [("approve", g2), ("approve", g1)],
        ):
            record = str(uuid.uuid4())
            yield ("record", (record, purpose_id, version, child, "espoo", client_id, _ts(day)))
            yield ("event", (record, "requested", _ts(day), "service", client_id, "api", None,
                             deciders, None, None))  # fmt: skip
            for offset, (kind, who) in enumerate(answers, start=1):
                at = day + timedelta(hours=offset)
                yield ("event", (record, kind, _ts(at), "guardian", who, "page", "bench",
                                 deciders, version, None))  # fmt: skip
            day += timedelta(days=120)


def seed(
    url: str,
    children: int,
    *,
    purpose: tuple[str, int],
    recipient: str,
    recipient_metadata: dict,
    pairwise_secret: bytes,
    sample: int = 10_000,
) -> list[str]:
    """Write ``children`` children with their records and events; return ``sample`` of their
    pairwise subs at the recipient (the benchmark's requests pick from them)."""
    random.seed(6)
    sector = sector_of(recipient_metadata, recipient)
    subs: list[str] = []
    started = time.monotonic()
    with psycopg.connect(libpq(url)) as connection:
        for first in range(0, children, CHUNK):
            batch = [str(uuid.uuid4()) for _ in range(min(CHUNK, children - first))]
            now = _ts(datetime.now(UTC))
            with connection.cursor() as cursor:
                with cursor.copy(
                    "COPY people (id, given_name, family_name, locale, protected, created_at,"
                    " updated_at) FROM STDIN"
                ) as copy:
                    for child in batch:
                        copy.write_row((child, "Bench", "Child", "fi", False, now, now))
                with cursor.copy(
                    "COPY oauth_pairwise_subjects (sector, sub, person_id) FROM STDIN"
                ) as copy:
                    for child in batch:
                        sub = subject_for(child, recipient_metadata, recipient, pairwise_secret)
                        copy.write_row((sector, sub, child))
                        if len(subs) < sample:
                            subs.append(sub)
                records, events = [], []
                for kind, row in _rows(batch, purpose, recipient):
                    (records if kind == "record" else events).append(row)
                with cursor.copy(
                    "COPY consent_records (id, purpose_id, purpose_version, child_id, city,"
                    " requested_by, created_at) FROM STDIN"
                ) as copy:
                    for row in records:
                        copy.write_row(row)
                with cursor.copy(
                    "COPY consent_events (record_id, kind, at, actor_type, actor_id, method,"
                    " acr, deciders, purpose_version, reason) FROM STDIN"
                ) as copy:
                    for row in events:
                        copy.write_row(row)
            connection.commit()
            done = first + len(batch)
            print(f"  seeded {done:,} children ({time.monotonic() - started:.0f} s)", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    random.shuffle(subs)
    return subs


if __name__ == "__main__":
    print("use bench.run (it seeds through this module with its own clients)", file=sys.stderr)
    sys.exit(2)
