"""The guardian's consent pages (CONSENT.md): after single sign-on a guardian sees
their children's consent requests, consents in force and ended ones, and approves, refuses or
withdraws each with one button on the same page (GDPR art. 7(3): withdrawing is as easy as
giving); a pupil old enough under a purpose's policy (art. 8) does the same for themself. Each
record's signed receipt is downloadable by those who may see it."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from consent import access_log, page_data, receipt, records
from consent.models import ConsentRecord
from consent.records import ConsentError, View
from core.app import config
from core.db import db
from idp.sso.browser import signed_in
from keys.app import key_store

bp = Blueprint("consent_pages", __name__)

DONE = {
    "approve": lazy_gettext("Your approval was saved."),
    "refuse": lazy_gettext("Your refusal was saved. Nothing is shared on this request."),
    "withdraw": lazy_gettext("The consent was withdrawn. Nothing more is shared on it."),
}
NOT_SAVED = {
    "closed": lazy_gettext(
        "Your answer was not saved: this consent has ended or its text has changed. "
        "The page now shows it as it is."
    ),
    "wrong_answer": lazy_gettext(
        "Your answer was not saved: you have already answered, or there is nothing to withdraw."
    ),
    "purpose_withdrawn": lazy_gettext("Your answer was not saved: the purpose has been withdrawn."),
    "cannot_consent": lazy_gettext(
        "Your answer was not saved: nobody may give this consent any more, so it has ended."
    ),
}
NOT_SAVED_OTHERWISE = lazy_gettext("Your answer was not saved. Reload the page and try again.")


def _to_sign_in() -> BaseResponse:
    return redirect(url_for("pages.chooser", next=url_for("consent_pages.consents")))


def _visible(record_id: str, person_id: str) -> View:
    """The record if ``person_id`` may see it; 404 otherwise, whether it exists or not."""
    record = db.session.get(ConsentRecord, record_id) if len(record_id) <= 36 else None
    if record is None:
        abort(404)
    current = records.view(db.session, record)
    if not page_data.may_see(db.session, person_id, current):
        abort(404)
    return current


@bp.get("/consents")
def consents():
    current = signed_in()
    if current is None:
        return _to_sign_in()
    return render_template(
        "consent/index.html",
        sections=page_data.sections(db.session, current.person),
        lawful_bases=page_data.LAWFUL_BASES,
        states=page_data.STATES,
        when=page_data.when,
        day=page_data.day,
        validity_text=page_data.validity_text,
        readers=access_log.READERS,
        channels=access_log.CHANNELS,
        actions=access_log.ACTIONS,
    )


@bp.post("/consents/<record_id>")
def answer(record_id: str):
    """One action: approve, refuse or withdraw, for the purpose version the page showed."""
    current = signed_in()
    if current is None:
        return _to_sign_in()
    shown = _visible(record_id, current.person_id)
    kind = request.form.get("answer", "")
    version = request.form.get("version", type=int)
    if kind not in DONE or version is None:
        abort(400)
    try:
        records.answer(
            db.session,
            shown.record,
            current.person,
            kind,
            method="page",
            acr=current.acr,
            version_seen=version,
        )
    except ConsentError as exc:
        if exc.code == "cannot_consent":
            db.session.commit()  # records.answer has invalidated the record: keep that
        else:
            db.session.rollback()
        flash(str(NOT_SAVED.get(exc.code, NOT_SAVED_OTHERWISE)))
    else:
        db.session.commit()
        flash(str(DONE[kind]))
    return redirect(url_for("consent_pages.consents") + f"#record-{record_id}", 303)


@bp.get("/consents/<record_id>/receipt")
def receipt_download(record_id: str):
    """The record as a signed JWS (consent.receipt), for those who may see it."""
    current = signed_in()
    if current is None:
        return _to_sign_in()
    shown = _visible(record_id, current.person_id)
    token = receipt.signed(db.session, shown, config(), key_store(), language=page_data.locale())
    return receipt_attachment(token, shown.record.id)


def receipt_attachment(token: str, record_id: str) -> Response:
    """A signed receipt as a download, never cached (the guardian's page, the console)."""
    response = Response(token, mimetype="application/jwt")
    response.headers["Content-Disposition"] = f'attachment; filename="consent-{record_id}.jwt"'
    response.headers["Cache-Control"] = "no-store"
    return response
