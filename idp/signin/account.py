"""The signed-in page (who you are, your roles, your children) and sign-out."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from core.app import account_links, config
from core.db import db
from federation.models import Guardianship, Person
from idp.signin import bp
from idp.signin.context import city_name
from idp.sso import frontends
from idp.sso.browser import signed_in

log = logging.getLogger("digione.signin")


@bp.get("/me")
def me():
    current = signed_in()
    if current is None:
        return redirect(url_for("pages.chooser", next=url_for("pages.me")))
    cfg = config()
    children = db.session.scalars(
        select(Person)
        .join(Guardianship, Guardianship.child_id == Person.id)
        .where(Guardianship.guardian_id == current.person_id, Guardianship.ended_at.is_(None))
        .order_by(Person.given_name)
    ).all()
    return render_template(
        "me.html",
        sso=current,
        person=current.person,
        identity=current.identity,
        city=cfg.cities.get(current.city),
        city_name=city_name,
        children=children,
        consents=bool(children) or any(role.role == "learner" for role in current.identity.roles),
        approvals=frontends.allowed(current.person_id),
        links=account_links(current.person_id),
    )


@bp.post("/logout")
def logout():
    settings = config().settings.session
    current = signed_in()
    if current is not None:
        frontends.end_everywhere(current)
        log.info("signed out")
    flash(_("You have signed out."))
    response = redirect(url_for("pages.chooser"))
    response.delete_cookie(settings.cookie_name, httponly=True, samesite="Lax")
    return response


@bp.get("/accessibility")
def accessibility():
    return render_template("accessibility.html")
