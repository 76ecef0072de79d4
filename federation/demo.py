"""`digione demo seed`: load config/demo/ into the embedded directories (idempotent).

Birthdates are computed from each person's age and birthday on the day the seed runs, so that
pupil1 is 9 and pupil2 is 15 whenever the demo is set up (the contract in ARCHITECTURE.md).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import Config
from core.settings.schema import DemoPerson
from federation.accounts import provision
from federation.embedded.connector import EmbeddedDirectory
from federation.embedded.models import EmbeddedAccount
from federation.embedded.passwords import hasher_for
from federation.models import School

DEMO_PASSWORD = "demo"


def birthdate_for(person: DemoPerson, today: date) -> date:
    """The birthdate that makes ``person`` exactly ``age`` years old on ``today``."""
    month, day = (int(part) for part in person.birthday.split("-"))
    year = today.year - person.age
    if (month, day) > (today.month, today.day):
        year -= 1
    if (month, day) == (2, 29):
        day = 28
    return date(year, month, day)


def seed(session: Session, cfg: Config, today: date | None = None) -> int:
    """Create or refresh every demo account and its Person; return how many accounts."""
    if cfg.production:
        raise RuntimeError("demo data is refused in production")
    today = today or date.today()
    # One hash of the public demo password for every new account: the password is the same
    # and public, and argon2id is meant to be slow (38 accounts hashed one by one cost seconds).
    demo_hash = hasher_for(cfg.settings.passwords).hash(DEMO_PASSWORD)
    count = 0
    for slug, directory in sorted(cfg.demo.items()):
        city = cfg.cities[slug]
        if city.directory.type != "embedded":
            continue  # the city's people live in its own directory
        for school in directory.schools:
            row = session.get(School, school.code) or School(code=school.code)
            row.municipality_code = city.municipality_code
            row.name, row.name_sv = school.name, school.name_sv
            session.merge(row)
        learner_ids = {p.username: p.learner_id for p in directory.people}
        accounts = []
        for person in directory.people:
            account = session.scalar(
                select(EmbeddedAccount).where(
                    EmbeddedAccount.city == slug, EmbeddedAccount.username == person.username
                )
            )
            if account is None:
                account = EmbeddedAccount(
                    city=slug, username=person.username, password_hash=demo_hash
                )
                session.add(account)
            account.given_name, account.family_name = person.given_name, person.family_name
            account.birthdate = birthdate_for(person, today)
            account.learner_id, account.email = person.learner_id, person.email
            account.locale, account.protected = person.locale, person.protected
            account.locked = False
            account.roles = [role.model_dump(exclude_none=True) for role in person.roles]
            account.children = [learner_ids[child] for child in person.children]
            account.permissions = list(person.permissions)
            accounts.append(account)
            count += 1
        session.flush()
        connector = EmbeddedDirectory(city, session, cfg.settings.passwords)
        # Children first, so that their guardians' links find them.
        for account in sorted(accounts, key=lambda a: bool(a.children)):
            provision(session, connector.identity_of(account), signed_in=False)
    session.commit()
    return count
