"""The person's review of what they have allowed services to receive, and withdrawal (each
frontend keeps its own approvals: idp.sso.frontends)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _

from core.db import db
from idp.signin import bp
from idp.sso import frontends
from idp.sso.browser import signed_in


@bp.post("/me/approvals/<client_id>/withdraw")
def withdraw_approval(client_id: str):
    """One action, on the same page where it shows (withdrawing as easy as giving)."""
    current = signed_in()
    if current is None:
        return redirect(url_for("pages.chooser"))
    frontends.withdraw(current.person_id, client_id)
    db.session.commit()
    flash(_("Withdrawn. The service will ask again before it receives this information."))
    return redirect(url_for("pages.me"))
