"""The console's purposes (/admin/purposes): every purpose's latest version, and for a city's
consent administrator, publishing one and withdrawing one, each in two steps. A purpose is
written as the purpose file `digione purposes add` reads (TOML, docs/consent.md); the preview
shows its texts in the three languages side by side and what publishing does (a new purpose, a
new version, and how many consents a re-consent ends) before it is confirmed. An auditor only
reads. Every change is an audit entry with the administrator's id, as at the command line."""

from __future__ import annotations

import hashlib
import tomllib

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from consent import audit, history, page_data, purposes
from consent.console import ROLES, Admin, current_admin
from core.db import db

bp = Blueprint("admin_purposes", __name__, url_prefix="/admin/purposes")

MAX_TEXT = 64 * 1024
LANGUAGES = ("fi", "sv", "en")
TEXTS = ("title", "description", "data", "retention")


def _changer() -> Admin | Response:
    """The administrator of a change: a city's consent administrator (an auditor gets 403)."""
    admin = current_admin()
    if isinstance(admin, Response):
        return admin
    if not admin.scope.cities:
        abort(403)
    return admin


def _audit(admin: Admin, action: str, purpose_id: str, **detail) -> None:
    audit.append(
        db.session, actor_type="admin", actor_id=admin.sso.person_id, action=action,
        channel="page", purpose_id=purpose_id, detail={"role": admin.scope.role, **detail},
    )  # fmt: skip


def _render(template: str, admin: Admin, status: int = 200, **context):
    return render_template(
        template, admin=admin, roles=ROLES, languages=LANGUAGES, texts=TEXTS,
        locale=page_data.locale(), **context,
    ), status  # fmt: skip


def _read(text: str) -> purposes.PurposeSpec:
    """The purpose file's text as a purpose; PurposeError names the problem."""
    if len(text.encode("utf-8")) > MAX_TEXT:
        raise purposes.PurposeError(f"purpose: the file is larger than {MAX_TEXT} bytes")
    try:
        return purposes.parse(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise purposes.PurposeError(f"purpose: not TOML ({exc})") from None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _effect(spec: purposes.PurposeSpec) -> dict:
    """What publishing ``spec`` does now: add it, or its next version (and the consents a
    re-consent ends). PurposeError when it cannot be published."""
    current = purposes.latest(db.session, spec.id)
    if current is None:
        return {"version": 1, "ending": 0, "current": None}
    if current.withdrawn_at is not None:
        raise purposes.PurposeError(f"id: the purpose {spec.id} has been withdrawn")
    ending = history.still_open(db.session, spec.id) if spec.requires_reconsent else 0
    return {"version": current.version + 1, "ending": ending, "current": current}


@bp.get("")
def index():
    """Every purpose's latest version with its open consents."""
    admin = current_admin()
    if isinstance(admin, Response):
        return admin
    latest = purposes.all_latest(db.session)
    open_counts = {row.purpose_id: history.still_open(db.session, row.purpose_id) for row in latest}
    return _render("admin/purposes.html", admin, latest=latest, open_counts=open_counts,
                   when=page_data.when)  # fmt: skip


@bp.route("/publish", methods=["GET", "POST"])
def publish():
    """Step 1: the purpose file; POST shows the preview (step 2) or the problem."""
    admin = _changer()
    if isinstance(admin, Response):
        return admin
    text = request.form.get("purpose", "") if request.method == "POST" else ""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        text = upload.stream.read(MAX_TEXT + 1).decode("utf-8", errors="replace")
    if request.method == "GET" or not text.strip():
        problem = gettext("Paste or choose a purpose file.") if request.method == "POST" else None
        return _render("admin/purpose_edit.html", admin, 400 if problem else 200, text=text,
                       problem=problem)  # fmt: skip
    try:
        spec = _read(text)
        effect = _effect(spec)
    except purposes.PurposeError as exc:
        problem = gettext("The purpose file has a problem: %(problem)s", problem=str(exc))
        return _render("admin/purpose_edit.html", admin, 400, text=text, problem=problem)
    return _render("admin/purpose_preview.html", admin, spec=spec, effect=effect, text=text,
                   digest=_digest(text))  # fmt: skip


@bp.post("/publish/confirm")
def confirm():
    """Step 2: publish exactly the previewed file (its digest must match)."""
    admin = _changer()
    if isinstance(admin, Response):
        return admin
    text = request.form.get("purpose", "")
    if _digest(text) != request.form.get("digest", ""):
        abort(400)
    try:
        spec = _read(text)
        effect = _effect(spec)
        author = f"admin:{admin.sso.person_id}"[:64]
        if effect["current"] is None:
            row = purposes.add(db.session, spec, created_by=author)
            _audit(admin, "purpose.add", row.purpose_id, version=row.version)
        else:
            row = purposes.new_version(db.session, spec, created_by=author)
            _audit(
                admin, "purpose.new_version", row.purpose_id, version=row.version,
                previous=effect["current"].version, requires_reconsent=row.requires_reconsent,
                ended=effect["ending"],
            )  # fmt: skip
        db.session.commit()
    except purposes.PurposeError as exc:
        db.session.rollback()
        problem = gettext("The purpose file has a problem: %(problem)s", problem=str(exc))
        return _render("admin/purpose_edit.html", admin, 400, text=text, problem=problem)
    except IntegrityError:  # published by someone else at the same moment
        db.session.rollback()
        problem = gettext("Someone published this purpose at the same moment. Check it again.")
        return _render("admin/purpose_edit.html", admin, 409, text=text, problem=problem)
    flash(gettext("Published %(id)s version %(version)s.", id=row.purpose_id, version=row.version))
    return redirect(url_for("admin_purposes.index"), 303)


@bp.route("/<purpose_id>/withdraw", methods=["GET", "POST"])
def withdraw(purpose_id: str):
    """GET: what withdrawing ends, to confirm; POST: withdraw every version."""
    admin = _changer()
    if isinstance(admin, Response):
        return admin
    current = purposes.latest(db.session, purpose_id) if len(purpose_id) <= 64 else None
    if current is None:
        abort(404)
    if current.withdrawn_at is not None:
        flash(gettext("The purpose has been withdrawn already."))
        return redirect(url_for("admin_purposes.index"), 303)
    ending = history.still_open(db.session, purpose_id)
    if request.method == "GET":
        return _render("admin/purpose_withdraw.html", admin, purpose=current, ending=ending)
    purposes.withdraw(db.session, purpose_id)
    _audit(admin, "purpose.withdraw", purpose_id, version=current.version, ended=ending)
    db.session.commit()
    flash(gettext("Withdrew %(id)s: %(count)s consents ended.", id=purpose_id, count=ending))
    return redirect(url_for("admin_purposes.index"), 303)
