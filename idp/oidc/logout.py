"""Ending a single sign-on session everywhere: RP-Initiated Logout 1.0 (``end_session_endpoint``)
and Back-Channel Logout 1.0 (a signed logout token POSTed to every service of the session).

Both the broker's own sign-out button and a service's logout request end up in
idp.sso.frontends.end_everywhere, which asks every frontend, the OP through
:func:`session_ending`, for its part. Refresh tokens of the session die with it, except those
granted for ``offline_access`` (Back-Channel Logout 1.0 section 2.7).
"""

from __future__ import annotations

import logging
import secrets
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select, update

from core import outbound
from core.app import config
from core.db import db, utcnow
from idp.oidc import oidc
from idp.oidc.models import Client, SessionClient, TokenFamily
from idp.sso.models import SsoSession

log = logging.getLogger("digione.logout")
EVENT = "http://schemas.openid.net/event/backchannel-logout"
DELIVERY_TIMEOUT = 3.0


def logout_token(client: Client, person_id: str, sid: str) -> str:
    """The logout token (Back-Channel Logout 1.0 section 2.4) for one client."""
    state = oidc()
    minter = state.provider.minter()
    from federation.models import Person

    now = int(utcnow().timestamp())
    claims = {
        "iss": state.provider.issuer,
        "sub": minter.subject(db.session.get(Person, person_id), client),
        "aud": client.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        "events": {EVENT: {}},
        "sid": sid,
    }
    alg = client.client_metadata.get("id_token_signed_response_alg") or "RS256"
    return minter.keys.sign_jwt(claims, use=alg.lower(), headers={"typ": "logout+jwt"})


def _deliver(uri: str, token: str, client_id: str, policy: outbound.Policy) -> bool:
    """POST one logout token (section 2.5) through the outbound client: in production to a
    public https address only, never forwarded by a redirect."""
    body = urllib.parse.urlencode({"logout_token": token}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        answer = outbound.request(uri, policy, method="POST", body=body, headers=headers,
                                  timeout=DELIVERY_TIMEOUT, max_bytes=64 * 1024)  # fmt: skip
    except outbound.OutboundError as exc:
        log.warning(
            "back-channel logout not delivered",
            extra={"event": {"client_id": client_id, "reason": str(exc)}},
        )
        return False
    return answer.status in (200, 204)


def session_ending(session_row: SsoSession) -> Callable[[], int] | None:
    """The OP's part in ending ``session_row`` (idp.sso.frontends.end_everywhere), in its
    transaction: revoke the session's online refresh tokens, forget which services it signed in
    to, and make each service's logout token. Returns the deliveries, to run once the end is
    committed; they return how many services acknowledged."""
    sid, person_id = session_row.sid, session_row.person_id
    db.session.execute(
        update(TokenFamily)
        .where(
            TokenFamily.sid == sid,
            TokenFamily.revoked_at.is_(None),
            TokenFamily.scope.not_like("%offline_access%"),
        )
        .values(revoked_at=utcnow(), revoked_reason="logout")
    )
    deliveries = []
    for client in db.session.scalars(
        select(Client).join(SessionClient).where(SessionClient.sid == sid)
    ):
        uri = client.client_metadata.get("backchannel_logout_uri")
        if uri:
            deliveries.append((uri, logout_token(client, person_id, sid), client.client_id))
    db.session.execute(SessionClient.__table__.delete().where(SessionClient.sid == sid))
    if not deliveries:
        return None
    policy = outbound.Policy.for_mode(production=config().production)
    return lambda: _deliver_all(deliveries, policy)


def _deliver_all(deliveries: list[tuple[str, str, str]], policy: outbound.Policy) -> int:
    with ThreadPoolExecutor(max_workers=min(8, len(deliveries))) as pool:
        results = list(pool.map(lambda d: _deliver(*d, policy), deliveries))
    log.info(
        "back-channel logout sent",
        extra={"event": {"services": len(deliveries), "acknowledged": sum(results)}},
    )
    return sum(results)
