"""The person's review of what they have allowed services to receive, and withdrawal."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from sqlalchemy import delete, select

from core.db import db
from idp.oidc.models import Approval, Client
from idp.pages import bp
from idp.pages.context import signed_in


def approvals_of(person_id: str) -> list[tuple[Approval, Client]]:
    rows = db.session.execute(
        select(Approval, Client)
        .join(Client, Client.client_id == Approval.client_id)
        .where(Approval.person_id == person_id)
        .order_by(Approval.granted_at.desc())
    ).all()
    return [(approval, client) for approval, client in rows]


@bp.post("/me/approvals/<client_id>/withdraw")
def withdraw_approval(client_id: str):
    """One action, on the same page where it shows (withdrawing as easy as giving)."""
    current = signed_in()
    if current is None:
        return redirect(url_for("pages.chooser"))
    db.session.execute(
        delete(Approval).where(
            Approval.person_id == current.person_id, Approval.client_id == client_id
        )
    )
    db.session.commit()
    flash(_("Withdrawn. The service will ask again before it receives this information."))
    return redirect(url_for("pages.me"))
