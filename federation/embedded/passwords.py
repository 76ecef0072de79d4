"""Password hashing for the embedded directory: argon2id (RFC 9106) via argon2-cffi.

Unknown users are checked against a dummy hash made with the same parameters, so that a wrong
user name costs as much time as a wrong password.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from core.settings.schema import PasswordSettings


@lru_cache(maxsize=8)
def hasher_for(settings: PasswordSettings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.time_cost,
        memory_cost=settings.memory_kib,
        parallelism=settings.parallelism,
        type=Type.ID,
    )


@lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not anybody's password")


def verify_password(
    hasher: PasswordHasher, stored: str | None, password: str
) -> tuple[bool, str | None]:
    """Check ``password``; return (ok, a new hash when the parameters have changed, else None)."""
    try:
        hasher.verify(stored or _dummy_hash(hasher), password)
    except (VerificationError, InvalidHashError):
        return False, None
    if stored is None:
        return False, None
    return True, hasher.hash(password) if hasher.check_needs_rehash(stored) else None
