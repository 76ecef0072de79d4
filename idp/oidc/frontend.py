"""The OpenID Connect provider as a frontend of the single sign-on session
(idp.sso.frontends.Frontend): where its sign-ins end, its part in a sign-out, and the scopes a
person has approved for its clients."""

from __future__ import annotations

from sqlalchemy import delete, select

from core.db import db
from idp.oidc import authorize, logout
from idp.oidc.models import Approval, Client
from idp.sso.frontends import AfterEnd
from idp.sso.models import SsoSession


class OidcFrontend:
    def form_target(self, next_url: str) -> str | None:
        return authorize.client_redirect_for(next_url)

    def session_ending(self, session: SsoSession) -> AfterEnd | None:
        return logout.session_ending(session)

    def allowed(self, person_id: str) -> list[tuple[Approval, Client]]:
        """The person's approvals (OIDC Core 3.1.2.4), newest first, with their clients."""
        rows = db.session.execute(
            select(Approval, Client)
            .join(Client, Client.client_id == Approval.client_id)
            .where(Approval.person_id == person_id)
            .order_by(Approval.granted_at.desc())
        ).all()
        return [(approval, client) for approval, client in rows]

    def withdraw(self, person_id: str, service_id: str) -> None:
        db.session.execute(
            delete(Approval).where(
                Approval.person_id == person_id, Approval.client_id == service_id
            )
        )
