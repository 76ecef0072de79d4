"""RP-Initiated Logout 1.0: ``/oidc/logout``.

A service that sends a valid ``id_token_hint`` for the signed-in person signs them out at once;
otherwise the person confirms on a page (so a link cannot sign anybody out). The person is sent
back only to a ``post_logout_redirect_uri`` the service registered, exactly; anything else gets
a page, never a redirect.
"""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from core.app import config
from core.security import allow_form_targets, csrf
from idp.oidc import oidc
from idp.oidc.access import read_id_token_hint
from idp.sso.browser import signed_in
from idp.sso.frontends import end_everywhere

bp = Blueprint("oidc_logout", __name__, url_prefix="/oidc")
csrf.exempt(bp)


def _hint_claims(hint: str) -> dict | None:
    """The claims of one of our ID tokens (expired ones too, for any client), or None."""
    return read_id_token_hint(hint, oidc().provider.issuer)


def _page(detail: str):
    return (
        render_template(
            "error.html", status=400, title=_("The sign-out request is not valid"), detail=detail
        ),
        400,
    )


def _signed_out(target: str | None, state: str | None):
    settings = config().settings.session
    if target:
        response = redirect(add_params_to_uri(target, [("state", state)] if state else []))
    else:
        flash(_("You have signed out."))
        response = redirect(url_for("pages.chooser"))
    response.delete_cookie(settings.cookie_name, httponly=True, samesite="Lax")
    return response


@bp.route("/logout", methods=["GET", "POST"])
def end_session():
    params = request.values
    op = oidc()
    hint = params.get("id_token_hint")
    claims = _hint_claims(hint) if hint else None
    if hint and claims is None:
        return _page(_("The service sent an ID token that is not ours or not valid."))
    client_id = params.get("client_id") or (claims or {}).get("aud")
    if claims and params.get("client_id") and params["client_id"] != claims["aud"]:
        return _page(_("The service's client_id does not match its ID token."))
    client = op.server.query_client(client_id) if isinstance(client_id, str) else None
    target = params.get("post_logout_redirect_uri")
    if target and (
        client is None or target not in client.client_metadata.get("post_logout_redirect_uris", [])
    ):
        return _page(_("The address to return to is not registered for the service."))
    current = signed_in()
    if current is None:
        return _signed_out(target, params.get("state"))
    same_person = (
        claims is not None
        and client is not None
        and claims["sub"] == op.provider.minter().subject(current.person, client)
    )
    if same_person:
        end_everywhere(current)
        return _signed_out(target, params.get("state"))
    page = render_template(
        "logout_confirm.html",
        client=client,
        target=target or "",
        state=params.get("state") or "",
        client_id=client.client_id if client else "",
    )
    return allow_form_targets(make_response(page), [target] if target else [])


@bp.post("/logout/confirm")
def confirm():
    csrf.protect()
    target, state = request.form.get("target") or None, request.form.get("state") or None
    client = oidc().server.query_client(request.form.get("client_id", ""))
    if target and (
        client is None or target not in client.client_metadata.get("post_logout_redirect_uris", [])
    ):
        return _page(_("The address to return to is not registered for the service."))
    current = signed_in()
    if current is not None and request.form.get("decision") == "logout":
        end_everywhere(current)
        return _signed_out(target, state)
    return redirect(url_for("pages.me"))
