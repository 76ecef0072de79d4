"""Slow down password guessing without letting anybody lock a pupil out for long.

Failures are counted per account (city + user name) and per client address, under HMAC keys so
that no user name or address is stored. Past the free failures each further try must wait
2**(n - free) seconds, at most ``max_delay_seconds``; failures older than the window are
forgotten and a success clears the account's count (OWASP Authentication Cheat Sheet,
"Login Throttling").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.settings.schema import LoginSettings
from idp.signin.models import LoginFailures


@dataclass(frozen=True)
class ThrottleKeys:
    account: str
    address: str | None  # None: a known device's tries, counted on the device's key alone


class Throttle:
    def __init__(self, db: Session, secret: str, settings: LoginSettings):
        self.db, self.secret, self.settings = db, secret.encode(), settings
        self._counted: set[str] | None = None  # keys with a count when wait_seconds looked

    def keys(
        self, city: str, username: str, address: str, device: str | None = None
    ) -> ThrottleKeys:
        """The keys a try is counted on: the account's and the address's, or with ``device``
        (the nonce of the browser's device cookie for this account, idp.signin.device) the
        device's own, apart from the failures of anyone else."""

        def mac(value: str) -> str:
            return hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()

        if device is not None:
            return ThrottleKeys(mac(f"device\0{city}\0{device}"), None)
        return ThrottleKeys(
            mac(f"account\0{city}\0{username.strip().lower()}"), mac(f"ip\0{address}")
        )

    def _delay(self, row: LoginFailures | None, free: int, now: datetime) -> float:
        window = timedelta(minutes=self.settings.window_minutes)
        if row is None or row.failures < free or row.first_at + window <= now:
            return 0.0
        delay = min(self.settings.max_delay_seconds, 2 ** (row.failures - free))
        return max(0.0, (row.last_at + timedelta(seconds=delay) - now).total_seconds())

    def wait_seconds(self, keys: ThrottleKeys, now: datetime | None = None) -> int:
        """How long the next try for these keys must wait (0: go ahead)."""
        now = now or utcnow()
        both = select(LoginFailures).where(LoginFailures.key.in_(self._all(keys)))
        rows = {row.key: row for row in self.db.scalars(both)}  # one query for both counts
        self._counted = set(rows)
        account = self._delay(rows.get(keys.account), self.settings.account_free_failures, now)
        address = 0.0
        if keys.address is not None:
            address = self._delay(rows.get(keys.address), self.settings.ip_free_failures, now)
        return int(max(account, address) + 0.999)

    @staticmethod
    def _all(keys: ThrottleKeys) -> list[str]:
        return [key for key in (keys.account, keys.address) if key is not None]

    def failed(self, keys: ThrottleKeys, now: datetime | None = None) -> None:
        """Count a failure against the account and the address; commits."""
        now = now or utcnow()
        window = timedelta(minutes=self.settings.window_minutes)
        for key in self._all(keys):
            for _attempt in range(3):
                row = self.db.get(LoginFailures, key, with_for_update=True)
                if row is None:
                    self.db.add(LoginFailures(key=key, failures=1, first_at=now, last_at=now))
                elif row.first_at + window <= now:
                    row.failures, row.first_at, row.last_at = 1, now, now
                else:
                    row.failures, row.last_at = row.failures + 1, now
                try:
                    self.db.commit()
                    break
                except IntegrityError:  # a concurrent first failure inserted the row
                    self.db.rollback()

    def succeeded(self, keys: ThrottleKeys) -> None:
        """Clear the account's count (a statement saved when wait_seconds found none; a failure
        counted in between by a concurrent try stays until the next success)."""
        if self._counted is not None and keys.account not in self._counted:
            return
        self.db.execute(delete(LoginFailures).where(LoginFailures.key == keys.account))
