"""KeyStore: the current key per use, signing, the public JWKS (RFC 7517 section 5) and rotation.

Per use there is one *active* key (signs), one *next* key (already published, so relying parties
have it cached before it signs) and any number of *retired* keys (kept forever, published for a
grace period so tokens they signed still verify). The database holds at most one active and one
next key per use (partial unique indexes); concurrent writers that lose a race retry.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, overload

import jwt
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.db import utcnow
from keys import jws
from keys.active import ActiveKey
from keys.envelope import seal, unseal
from keys.lifecycle import ensure_one, retrying, rotate_one, sealing_aad
from keys.material import ALGS, ALL_USES, load_private_key, public_jwk
from keys.material import without_private_members as public_only
from keys.models import ACTIVE, NEXT, RETIRED, SigningKey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

    from core.settings.schema import KeysSettings

T = TypeVar("T")
JWT_USES = ("rs256", "es256", "audit")
JWKS_USES = ("rs256", "es256")
STATE_RANK = {ACTIVE: 0, NEXT: 1, RETIRED: 2}
KID = re.compile(r"[A-Za-z0-9_-]{43}")  # a base64url SHA-256 thumbprint (RFC 7638)
# How long a process keeps signing with the active key it read without asking the database
# again. Safe across a rotation by another process: the key that was active stays in the JWKS
# (retired, for retired_grace_days), so what it signs meanwhile still verifies.
ACTIVE_CACHE_SECONDS = 10.0


class NoActiveKey(LookupError):
    """There is no active key for a use yet (call KeyStore.ensure)."""


class NotInMemory(LookupError):
    """A key that only the database could give (a store from KeyStore.in_memory)."""


def _check_use(use: str) -> str:
    if use not in ALGS:
        raise ValueError(f"unknown key use {use!r}; expected one of {', '.join(ALL_USES)}")
    return use


class KeyStore:
    """Signing keys in the ``signing_keys`` table, private halves sealed under ``master_key``.

    ``session`` is a Session or a callable returning one (e.g. Flask-SQLAlchemy's scoped
    ``db.session``). Reading methods never commit; ``ensure``/``rotate``/``rotate_due`` commit.
    Unsealed private keys are cached in memory by kid for the life of the store, the active
    key per use and the public keys found by kid for ACTIVE_CACHE_SECONDS (a rotation or
    ensure in this process clears them).
    """

    def __init__(
        self,
        session: Session | Callable[[], Session],
        master_key: bytes,
        settings: KeysSettings,
        *,
        issuer: str = "",
    ) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._session = session if callable(session) else (lambda: session)
        self._master = master_key
        self.settings = settings
        self.issuer = issuer
        self._private: dict[str, PrivateKeyTypes] = {}
        self._active: dict[str, tuple[float, ActiveKey]] = {}
        self._public: dict[tuple, tuple[float, jwt.PyJWK]] = {}

    @property
    def session(self) -> Session:
        return self._session()

    def bound_to(
        self, session: Session | Callable[[], Session], kind: type[KeyStore] | None = None
    ) -> KeyStore:
        """A store on another session sharing this one's master key, settings and key cache
        (of this store's class, or ``kind``)."""
        other = (kind or type(self))(session, self._master, self.settings, issuer=self.issuer)
        other._private, other._active = self._private, self._active
        other._public = self._public
        return other

    def seal_secret(self, plaintext: bytes, purpose: str) -> bytes:
        """Another package's secret (a person's TOTP key) encrypted under the master key for
        storage, bound to ``purpose`` (the row it belongs in): keys.envelope.seal."""
        return seal(self._master, plaintext, f"secret\0{purpose}".encode())

    def unseal_secret(self, blob: bytes, purpose: str) -> bytes:
        """A secret sealed by :meth:`seal_secret` for ``purpose``; UnsealError otherwise."""
        return unseal(self._master, blob, f"secret\0{purpose}".encode())

    def in_memory(self) -> KeyStore:
        """A view of this store that signs with the keys this process holds and never asks the
        database: where it would have to, it raises NotInMemory (the token endpoint's direct
        path, idp.oidc.direct_token, which leaves such a request to the full path)."""
        return self.bound_to(_no_session, _InMemory)

    def cached_active(self, use: str) -> ActiveKey | None:
        """The active key of ``use`` as this process last read it, while that was less than
        ACTIVE_CACHE_SECONDS ago; else None."""
        cached = self._active.get(use)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return None

    # -- reading -------------------------------------------------------------------------------

    def active(self, use: str) -> ActiveKey:
        """The key that signs for ``use`` now, its private half unsealed (once per kid)."""
        cached = self.cached_active(use)
        if cached is not None:
            return cached
        now = time.monotonic()
        query = select(SigningKey).where(
            SigningKey.use == _check_use(use), SigningKey.state == ACTIVE
        )
        row = self.session.scalars(query).one_or_none()
        if row is None:
            raise NoActiveKey(f"no active {use} key; run KeyStore.ensure()")
        private = self._private_key(row)
        key = ActiveKey(
            row.kid, row.use, row.alg, private, dict(row.public_jwk), row.certificate_pem
        )
        self._active[use] = (now + ACTIVE_CACHE_SECONDS, key)
        return key

    def sign_jwt(
        self, claims: dict[str, Any], use: str = "rs256", headers: dict | None = None
    ) -> str:
        """A JWS compact serialization (RFC 7515 section 7.1) of ``claims`` signed by the active
        key of ``use``; the header's ``alg`` and ``kid`` (RFC 7515 sections 4.1.1, 4.1.4) are set
        from the key and cannot be overridden."""
        if use not in JWT_USES:
            raise ValueError(f"{use!r} keys do not sign JWTs; use one of {', '.join(JWT_USES)}")
        return jws.sign(self.active(use), claims, {"typ": "JWT", **(headers or {})})

    def public_jwks(
        self, uses: Iterable[str] = JWKS_USES, now: datetime | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """The JWK Set (RFC 7517 section 5) of ``uses``: active keys first, then next keys, then
        retired keys still within ``retired_grace_days``, newest first. Public members only."""
        order = {_check_use(use): index for index, use in enumerate(uses)}
        query = select(SigningKey).where(SigningKey.use.in_(order), self._published(now))
        rows = sorted(
            self.session.scalars(query),
            key=lambda row: (
                STATE_RANK[row.state],
                -row.retired_at.timestamp() if row.retired_at else 0.0,
                order[row.use],
            ),
        )
        return {"keys": [public_only(row.public_jwk) for row in rows]}

    def public_key(
        self, kid: str, *, published_only: bool = True, uses: Iterable[str] | None = None
    ) -> jwt.PyJWK | None:
        """The public key ``kid`` as a PyJWK (``.key``, ``.algorithm_name``), or None. By default
        only keys in the JWKS; ``published_only=False`` also finds keys retired long ago (for
        verifying old audit checkpoints or an expired ``id_token_hint``); ``uses`` limits the
        search to keys of those uses."""
        if not isinstance(kid, str) or not KID.fullmatch(kid):
            return None
        cache_key = (kid, published_only, tuple(uses) if uses is not None else None)
        cached = self._public.get(cache_key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        query = select(SigningKey).where(SigningKey.kid == kid)
        if uses is not None:
            query = query.where(SigningKey.use.in_(list(uses)))
        if published_only:
            query = query.where(self._published(None))
        row = self.session.scalars(query).one_or_none()
        if row is None:
            return None  # not cached: a key published a moment later is found at once
        found = jwt.PyJWK(public_only(row.public_jwk))
        if len(self._public) >= 256:
            self._public.clear()
        self._public[cache_key] = (now + ACTIVE_CACHE_SECONDS, found)
        return found

    def list_keys(self) -> list[SigningKey]:
        """Every key ever made, by use, then active, next, retired, then newest first."""
        rank = {use: index for index, use in enumerate(ALL_USES)}
        return sorted(
            self.session.scalars(select(SigningKey)),
            key=lambda r: (
                rank.get(r.use, 9),
                STATE_RANK.get(r.state, 9),
                -r.created_at.timestamp(),
            ),
        )

    # -- writing -------------------------------------------------------------------------------

    def ensure(self, uses: Iterable[str] = ALL_USES) -> None:
        """Make sure each use has an active and a next key; idempotent, and safe when several
        processes run it at once (the loser of a race rolls back and reloads)."""
        for use in uses:
            self._write(ensure_one, _check_use(use), utcnow())

    @overload
    def rotate(self, use: str, now: datetime | None = None) -> SigningKey: ...
    @overload
    def rotate(self, use: None = None, now: datetime | None = None) -> list[SigningKey]: ...

    def rotate(
        self, use: str | None = None, now: datetime | None = None
    ) -> SigningKey | list[SigningKey]:
        """Rotate ``use`` (every use when None) in one transaction: the next key becomes active,
        the active key retires, a new next key is made. Returns the newly active key(s)."""
        now = now or utcnow()
        if use is None:
            return [self.rotate(each, now) for each in ALL_USES]
        return self._write(rotate_one, _check_use(use), now)

    def rotate_due(self, now: datetime | None = None, uses: Iterable[str] = ALL_USES) -> list[str]:
        """Rotate each of ``uses`` whose active key was activated ``rotate_after_days`` ago or
        earlier (never when that is 0); returns the uses rotated."""
        days = self.settings.rotate_after_days
        if days <= 0:
            return []
        now = now or utcnow()
        due_before = now - timedelta(days=days)
        query = select(SigningKey.use, SigningKey.activated_at).where(SigningKey.state == ACTIVE)
        due = {use for use, at in self.session.execute(query) if at and at <= due_before}
        due_uses = [use for use in map(_check_use, uses) if use in due]
        return [use for use in due_uses if self._write(rotate_one, use, now, due_before)]

    # -- internals -----------------------------------------------------------------------------

    def _published(self, now: datetime | None):
        cutoff = (now or utcnow()) - timedelta(days=self.settings.retired_grace_days)
        return or_(
            SigningKey.state.in_((ACTIVE, NEXT)),
            and_(SigningKey.state == RETIRED, SigningKey.retired_at > cutoff),
        )

    def _write(self, step: Callable[..., T], *args: Any) -> T:
        """Run a lifecycle step on this store's session, committing, retrying lost races."""
        self._active.clear()
        self._public.clear()
        session = self.session
        return retrying(session, functools.partial(step, session, self._master, self.issuer, *args))

    def _private_key(self, row: SigningKey) -> PrivateKeyTypes:
        private = self._private.get(row.kid)
        if private is None:
            der = unseal(self._master, row.sealed_private_key, sealing_aad(row.kid, row.use))
            private = load_private_key(der)
            if public_jwk(private.public_key(), row.alg)["kid"] != row.kid:  # type: ignore[arg-type]
                raise ValueError(f"key {row.kid}: private half does not match its kid")
            self._private[row.kid] = private
        return private


def _no_session() -> Session:
    raise NotInMemory("this key store does not read the database")


class _InMemory(KeyStore):
    def active(self, use: str) -> ActiveKey:
        key = self.cached_active(use)
        if key is None:
            raise NotInMemory(use)
        return key
