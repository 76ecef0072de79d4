"""The embedded directory connector: accounts in DigiOne's own database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings.schema import CitySettings, PasswordSettings
from federation.connector import AccountLocked, Environment
from federation.embedded.models import EmbeddedAccount
from federation.embedded.passwords import hasher_for, verify_password
from federation.profile import Identity, RoleClaim


class EmbeddedDirectory:
    """A PasswordConnector over the ``embedded_accounts`` table of one city."""

    def __init__(self, city: CitySettings, session: Session, passwords: PasswordSettings):
        self.city = city
        self.session = session
        self.hasher = hasher_for(passwords)

    @classmethod
    def open(cls, city: CitySettings, env: Environment) -> EmbeddedDirectory:
        return cls(city, env.session, env.passwords)

    def authenticate(self, username: str, password: str) -> Identity | None:
        account = self.session.scalar(
            select(EmbeddedAccount).where(
                EmbeddedAccount.city == self.city.slug,
                EmbeddedAccount.username == username.strip().lower(),
            )
        )
        ok, rehashed = verify_password(
            self.hasher, account.password_hash if account else None, password
        )
        if not ok or account is None:
            return None
        if account.locked:
            raise AccountLocked(self.city.slug)
        if rehashed:
            account.password_hash = rehashed
        return self.identity_of(account)

    def identity_of(self, account: EmbeddedAccount) -> Identity:
        code = self.city.municipality_code
        return Identity(
            city=self.city.slug,
            municipality_code=code,
            subject=account.username,
            given_name=account.given_name,
            family_name=account.family_name,
            birthdate=account.birthdate,
            learner_id=account.learner_id,
            email=account.email,
            locale=account.locale,
            protected=account.protected,
            roles=tuple(
                RoleClaim(
                    role=role["role"],
                    municipality_code=code,
                    school_code=role.get("school"),
                    group=role.get("group"),
                    class_level=role.get("class_level"),
                )
                for role in account.roles
            ),
            children=tuple(account.children),
            permissions=tuple(account.permissions),
        )
