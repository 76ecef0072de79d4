"""The administrators' console (/admin): a city's consent administrator finds the consent
records of the city's children and reads each one's history and its proof in the audit log; a
national auditor does the same for every city (consent.scope). Server-rendered, no script.

Every page needs a sign-in no older than ``admin.max_age_seconds`` (as OpenID Connect's
``max_age``); an older one is sent to the city's sign-in and comes back. With
``admin.second_factor = "required"`` (the default; production refuses "off") the sign-in must
also be multi-factor: the city's directory said so, or the person entered their TOTP code
(/second-factor). Every record a list
shows and every record opened is an audit entry with the administrator's role, which the
guardian's access log shows (never the administrator's name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select
from werkzeug.wrappers import Response

from consent import audit, history, page_data, purposes, receipt, search
from consent.ledger import checkpoints, proofs
from consent.models import ConsentRecord
from consent.pages import receipt_attachment
from consent.records import view as record_view
from consent.scope import Scope, scope_of
from core.app import config
from core.db import db, utcnow
from core.security import safe_next
from federation.models import Person, School
from idp.sso.browser import signed_in
from idp.sso.factors import has_second_factor
from idp.sso.models import SsoSession
from keys.app import key_store

bp = Blueprint("admin_console", __name__, url_prefix="/admin")

FIELDS = {
    "state": lazy_gettext("State"), "purpose": lazy_gettext("Purpose"),
    "service": lazy_gettext("Receiving service"), "source": lazy_gettext("Source system"),
    "school": lazy_gettext("School"), "from": lazy_gettext("Made on or after"),
    "to": lazy_gettext("Made on or before"), "learner_id": lazy_gettext("Learner id"),
    "name": lazy_gettext("Name"), "limit": lazy_gettext("Rows per page"),
    "cursor": lazy_gettext("Page"),
}  # fmt: skip
ACTORS = {
    "guardian": lazy_gettext("Guardian"), "child": lazy_gettext("Pupil"),
    "service": lazy_gettext("Service"), "admin": lazy_gettext("Administrator"),
    "system": lazy_gettext("DigiOne"),
}  # fmt: skip
ROLES = {
    "consent_admin": lazy_gettext("the city's consent administrator"),
    "auditor": lazy_gettext("a national auditor"),
}


@dataclass(frozen=True)
class Admin:
    """The signed-in administrator: their SSO session and what they see."""

    sso: SsoSession
    scope: Scope


def account_links(person_id: str) -> list[tuple[str, str]]:
    """The console's link on an administrator's own page (core.app.add_account_links)."""
    if scope_of(db.session, person_id) is None:
        return []
    return [(gettext("Consent records of the city's children"), url_for("admin_console.records"))]


def _here() -> str:
    return safe_next(request.full_path.rstrip("?")) or url_for("admin_console.records")


def current_admin() -> Admin | Response:
    """The administrator of this request, or where they must go first: the sign-in, or a sign
    in again when theirs is older than the console allows. Someone who administers nothing
    gets 403."""
    current = signed_in()
    if current is None:
        return redirect(url_for("pages.chooser", next=_here()))
    reach = scope_of(db.session, current.person_id)
    if reach is None:
        abort(403)
    settings = config().settings.admin
    if utcnow() - current.auth_time > timedelta(seconds=settings.max_age_seconds):
        flash(
            gettext(
                "Sign in again to open the administration: the console asks for a recent sign-in."
            )
        )
        return redirect(url_for("pages.login", slug=current.city, next=_here()))
    if settings.second_factor == "required" and not has_second_factor(current.amr):
        return redirect(url_for("pages.second_factor", next=_here()))
    return Admin(current, reach)


def _audit(admin: Admin, action: str, rows: list[tuple[str, str]], detail: dict) -> None:
    """One entry per record (id, purpose id) the administrator was shown."""
    audit.append_many(
        db.session,
        [
            {
                "actor_type": "admin",
                "actor_id": admin.sso.person_id,
                "action": action,
                "channel": "page",
                "record_id": record_id,
                "purpose_id": purpose_id,
                "detail": {"role": admin.scope.role, **detail},
            }
            for record_id, purpose_id in rows
        ],
    )


def filter_choices(scope: Scope) -> dict:
    """What the filter form offers: purposes, services and source systems, schools."""
    latest = purposes.all_latest(db.session)
    locale = page_data.locale()
    codes = [city.municipality_code for slug, city in config().cities.items()
             if scope.every_city or slug in scope.cities]  # fmt: skip
    schools = db.session.scalars(
        select(School).where(School.municipality_code.in_(codes)).order_by(School.name)
    ).all()
    return {
        "purposes": [(p.purpose_id, p.text("title", locale)) for p in latest],
        "services": sorted({p.recipient_client_id for p in latest}),
        "sources": sorted({p.source_client_id for p in latest}),
        "schools": [
            (s.code, s.name_sv if locale == "sv" and s.name_sv else s.name) for s in schools
        ],
        "states": page_data.STATES,
        "cities": [
            (slug, getattr(city.name, locale, city.name.fi))
            for slug, city in sorted(config().cities.items())
            if scope.every_city or slug in scope.cities
        ],
    }


@bp.get("")
def records():
    """The records in the administrator's reach, filtered, a keyset page at a time."""
    admin = current_admin()
    if isinstance(admin, Response):
        return admin
    problem, found = None, search.Page()
    try:
        filters = search.parse(request.args)
        limit = search.limit_of(request.args.get("limit"))
        found = search.page(
            db.session, admin.scope, filters, now=utcnow(), limit=limit,
            cursor=request.args.get("cursor") or None,
        )  # fmt: skip
    except search.FilterError as exc:
        filters, field = search.Filters(), str(exc).split(":", 1)[0]
        problem = gettext(
            "Check this field of the search: %(field)s.", field=FIELDS.get(field, field)
        )
    children = {
        person.id: person
        for person in db.session.scalars(
            select(Person).where(Person.id.in_({row["child"]["id"] for row in found.rows}))
        )
    }
    _audit(admin, "consent.list", [(r["id"], r["purpose"]["id"]) for r in found.rows],
           {"filters": filters.used()})  # fmt: skip
    db.session.commit()
    args = {k: v for k, v in request.args.items() if k != "cursor" and v}
    return render_template(
        "admin/records.html",
        admin=admin,
        roles=ROLES,
        rows=found.rows,
        children=children,
        args=args,
        next_url=url_for("admin_console.records", **args, cursor=found.next)
        if found.next
        else None,
        first_url=url_for("admin_console.records", **args) if request.args.get("cursor") else None,
        problem=problem,
        choices=filter_choices(admin.scope),
        at=_at,
    ), 400 if problem else 200


def _record_in_reach(record_id: str) -> tuple[Admin, ConsentRecord] | Response:
    """The administrator and the record ``record_id`` they see; 404 for one out of reach."""
    admin = current_admin()
    if isinstance(admin, Response):
        return admin
    found = admin.scope.visible(db.session, record_id)
    if found is None:
        abort(404)
    return admin, found


@bp.get("/records/<record_id>")
def record(record_id: str):
    """One record: its state, every event with who, how and at which sign-in level, the
    deciders at each answer, and its entries' inclusion proofs against the latest checkpoint."""
    reached = _record_in_reach(record_id)
    if isinstance(reached, Response):
        return reached
    admin, found = reached
    shown = history.record_to_dict(db.session, found)
    proof = proofs.bundle(db.session, found.id, audit=False)
    origin = checkpoints.origin_for(config().settings.server.issuer)
    proven = proofs.verified(proof, checkpoints.verifiers(origin, key_store()), origin)
    child = db.session.get(Person, found.child_id)
    people = {found.child_id} | {step["actor_id"] for step in shown["history"]}
    for step in shown["history"]:
        for ids in (step["deciders"] or {}).values():
            people.update(ids)
    _audit(admin, "consent.view", [(found.id, found.purpose_id)], {})
    db.session.commit()
    return render_template(
        "admin/record.html",
        admin=admin,
        roles=ROLES,
        record=shown,
        child=child,
        proof=proof,
        proven=proven,
        purpose=purposes.get(db.session, found.purpose_id, found.purpose_version),
        names=_names(people),
        states=page_data.STATES,
        steps=page_data.STEPS,
        reasons=page_data.REASONS,
        actor_types=ACTORS,
        locale=page_data.locale(),
        at=_at,
    )


@bp.get("/records/<record_id>/receipt")
def receipt_download(record_id: str):
    """The record's signed receipt (consent.receipt), as the guardian downloads it; a view of
    the record in the audit trail."""
    reached = _record_in_reach(record_id)
    if isinstance(reached, Response):
        return reached
    admin, found = reached
    token = receipt.signed(
        db.session, record_view(db.session, found), config(), key_store(),
        language=page_data.locale(),
    )  # fmt: skip
    _audit(admin, "consent.view", [(found.id, found.purpose_id)], {"receipt": True})
    db.session.commit()
    return receipt_attachment(token, found.id)


def _page_url(args: dict, cursor: str | None = None) -> str:
    return url_for("admin_console.records", **args, **({"cursor": cursor} if cursor else {}))


def _names(person_ids: set[str]) -> dict[str, str]:
    """The people among ``person_ids`` by name (services and the broker keep their ids)."""
    found = db.session.execute(
        select(Person.id, Person.given_name, Person.family_name).where(Person.id.in_(person_ids))
    ).all()
    return {person_id: f"{given} {family}" for person_id, given, family in found}


def _at(value: str | None) -> str:
    """An ISO time of a record's JSON in Finnish time, in the page's language."""
    return page_data.when(datetime.fromisoformat(value)) if value else ""
