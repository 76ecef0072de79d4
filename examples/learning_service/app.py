"""A relying party of DigiOne, the way a service developer would write one: Authlib's Flask
OAuth client does the code flow (PKCE S256, state, nonce, ID token checks); this file adds the
RFC 9207 ``iss`` check, RP-initiated logout and Back-Channel Logout 1.0.

Configured by environment variables, so one codebase runs as several services::

    EXAMPLE_PORT           5001
    EXAMPLE_TITLE          "Demo learning service"   (EXAMPLE_TITLE_FI for the Finnish page)
    EXAMPLE_CLIENT_ID      the client_id registered at the broker
    EXAMPLE_CLIENT_SECRET  its client_secret
    EXAMPLE_BROKER_URL     the broker's issuer, http://127.0.0.1:5000
    EXAMPLE_PURPOSE        optional: a data-sharing purpose this service receives data under
    EXAMPLE_SOURCE         with it: the purpose's source system (its client_id)

Run: ``python examples/learning_service/app.py`` (``make run`` starts two of them).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading

import jwt
from authlib.integrations.flask_client import OAuth, OAuthError
from flask import Flask, abort, redirect, render_template, request, session
from sharing import Broker, SharingError

PORT = int(os.environ.get("EXAMPLE_PORT", "5001"))
BASE_URL = f"http://127.0.0.1:{PORT}"
BROKER = os.environ.get("EXAMPLE_BROKER_URL", "http://127.0.0.1:5000").rstrip("/")
TITLE = os.environ.get("EXAMPLE_TITLE", "Demo learning service")
TITLE_FI = os.environ.get("EXAMPLE_TITLE_FI", TITLE)
SCOPE = "openid profile email edu:school edu:roles edu:municipality"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
PURPOSE = os.environ.get("EXAMPLE_PURPOSE", "")
SOURCE = os.environ.get("EXAMPLE_SOURCE", "")

TEXTS = {
    "en": {
        "sign_in": "Sign in with DigiOne",
        "sign_out": "Sign out everywhere",
        "signed_out": "You are not signed in.",
        "logged_out": "You have signed out of DigiOne and this service.",
        "signed_in_as": "Signed in as",
        "claims": "What DigiOne told this service",
        "claim": "Claim",
        "id_token": "ID token",
        "userinfo": "Userinfo",
        "raw": "The ID token as received",
        "failed": "Sign-in failed",
        "intro": "A service connected to DigiOne. Sign in to see what DigiOne tells it about you.",
        "sharing": "Data from the school",
        "ask": "Ask the guardians for consent",
        "fetch": "Fetch the data from the school",
        "state": "Consent",
        "token": "The token this service would send to the school's system",
    },
    "fi": {
        "sign_in": "Kirjaudu DigiOnella",
        "sign_out": "Kirjaudu ulos kaikkialta",
        "signed_out": "Et ole kirjautunut.",
        "logged_out": "Olet kirjautunut ulos DigiOnesta ja tästä palvelusta.",
        "signed_in_as": "Kirjautunut:",
        "claims": "Mitä DigiOne kertoi palvelulle",
        "claim": "Tieto",
        "id_token": "ID-tunniste",
        "userinfo": "Userinfo",
        "raw": "ID-tunniste sellaisenaan",
        "failed": "Kirjautuminen epäonnistui",
        "intro": "DigiOneen liitetty palvelu. Kirjaudu, niin näet mitä DigiOne kertoo sinusta.",
        "sharing": "Tiedot koululta",
        "ask": "Pyydä huoltajilta suostumus",
        "fetch": "Hae tiedot koululta",
        "state": "Suostumus",
        "token": "Tunniste, jonka palvelu lähettäisi koulun järjestelmään",
    },
}

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("EXAMPLE_SECRET_KEY") or secrets.token_hex(32),
    # Cookies ignore ports: each service (and the broker) on 127.0.0.1 needs its own name.
    SESSION_COOKIE_NAME=f"example_{PORT}",
    SESSION_COOKIE_SAMESITE="Lax",
    SESSION_COOKIE_HTTPONLY=True,
)
oauth = OAuth(app)
digione = oauth.register(
    "digione",
    client_id=os.environ.get("EXAMPLE_CLIENT_ID", "demo-learning-service"),
    client_secret=os.environ.get(
        "EXAMPLE_CLIENT_SECRET", "demo-only-learning-service-secret-never-use-in-production"
    ),
    server_metadata_url=f"{BROKER}/.well-known/openid-configuration",
    client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
)

# Sessions live here, keyed by the broker's session id (``sid``), so that a logout token can
# end them; the browser's cookie holds only the sid.
SESSIONS: dict[str, dict] = {}
LOCK = threading.Lock()


def lang() -> str:
    if request.args.get("lang") in TEXTS:
        session["lang"] = request.args["lang"]
    return session.get("lang") or request.accept_languages.best_match(["fi", "en"]) or "en"


def current() -> dict | None:
    with LOCK:
        return SESSIONS.get(session.get("sid", ""))


def page(template: str, status: int = 200, **context):
    code = lang()
    title = TITLE_FI if code == "fi" else TITLE
    csrf = session.setdefault("csrf", secrets.token_urlsafe(16))
    body = render_template(template, t=TEXTS[code], lang=code, title=title, csrf=csrf, **context)
    return body, status


@app.get("/")
def home():
    if current():
        return redirect("/me")
    notice = None
    if request.args.get("state"):  # back from the broker's end_session_endpoint
        with contextlib.suppress(OAuthError):
            digione.validate_logout_response()
            notice = "logged_out"
    return page("home.html", notice=notice)


@app.get("/login")
def login():
    return digione.authorize_redirect(f"{BASE_URL}/callback", ui_locales=lang())


@app.get("/callback")
def callback():
    # RFC 9207: the response must come from our issuer (Authlib does not check this yet).
    metadata = digione.load_server_metadata()
    iss = request.args.get("iss")
    required = metadata.get("authorization_response_iss_parameter_supported")
    if (iss is None and required) or (iss is not None and iss != metadata["issuer"]):
        return page("home.html", 400, error=f"iss: expected {metadata['issuer']}, got {iss}")
    try:
        token = digione.authorize_access_token()
        userinfo = dict(digione.userinfo(token=token))
    except (OAuthError, OSError) as exc:  # OSError: requests' errors, the broker unreachable
        return page("home.html", 400, error=str(exc))
    claims = dict(token["userinfo"])  # the ID token's claims, checked by Authlib
    if userinfo.get("sub") != claims["sub"]:  # OIDC Core section 5.3.2
        return page("home.html", 400, error="userinfo sub differs from the ID token's")
    sid = claims.get("sid") or secrets.token_urlsafe(16)
    record = {
        "id_token": token["id_token"],
        "header": jwt.get_unverified_header(token["id_token"]),
        "claims": claims,
        "userinfo": userinfo,
    }
    with LOCK:
        SESSIONS[sid] = record
    code = session.get("lang")
    session.clear()  # a fresh cookie for the signed-in session
    session.update(sid=sid, **({"lang": code} if code else {}))
    return redirect("/me")


@app.get("/me")
def me():
    record = current()
    if record is None:
        return page("home.html", notice="signed_out")
    names = list(dict.fromkeys([*record["claims"], *record["userinfo"]]))
    rows = [(n, show(record["claims"].get(n)), show(record["userinfo"].get(n))) for n in names]
    return page(
        "me.html",
        record=record,
        rows=rows,
        raw_header=json.dumps(record["header"], indent=2),
        raw_claims=json.dumps(record["claims"], indent=2, ensure_ascii=False),
        sharing=sharing_view(record),
    )


def broker() -> Broker:
    return Broker(BROKER, digione.client_id, digione.client_secret)


def check_csrf() -> None:
    if not secrets.compare_digest(request.form.get("csrf", ""), session.get("csrf", "")):
        abort(400)


def sharing_view(record: dict) -> dict | None:
    """What the page shows of data sharing: the request's state now, the last token or error."""
    if not PURPOSE:
        return None
    view = {"purpose": PURPOSE, "error": record.pop("sharing_error", None)}
    view["token"] = record.get("sharing_token")
    if record.get("consent_id"):
        try:
            view["state"] = broker().request_state(record["consent_id"])["state"]
        except (SharingError, OSError) as exc:
            view["error"] = str(exc)
    return view


@app.post("/consent/ask")
def ask_consent():
    """Ask the broker to ask the signed-in pupil's guardians (docs/connect-your-service.md)."""
    check_csrf()
    record = current()
    if record is None or not PURPOSE:
        return redirect("/")
    try:
        record["consent_id"] = broker().ask(PURPOSE, record["claims"]["sub"])["id"]
    except (SharingError, OSError) as exc:
        record["sharing_error"] = str(exc)
    return redirect("/me")


@app.post("/consent/fetch")
def fetch_data():
    """Token exchange (RFC 8693): no consent, no token."""
    check_csrf()
    record = current()
    if record is None or not PURPOSE:
        return redirect("/")
    try:
        token = broker().exchange(PURPOSE, record["claims"]["sub"], SOURCE)
        record["sharing_token"] = json.dumps(token["claims"], indent=2, ensure_ascii=False)
    except (SharingError, OSError) as exc:
        record["sharing_error"], record["sharing_token"] = str(exc), None
    return redirect("/me")


def show(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@app.post("/logout")
def logout():
    check_csrf()
    with LOCK:
        record = SESSIONS.pop(session.get("sid", ""), None)
    code = session.get("lang")
    session.clear()
    if code:
        session["lang"] = code
    if record is None:
        return redirect("/")
    # RP-Initiated Logout 1.0: the broker ends the SSO session and tells the other services.
    return digione.logout_redirect(
        post_logout_redirect_uri=f"{BASE_URL}/", id_token_hint=record["id_token"]
    )


def logout_claims(token: str) -> dict:
    """A logout token checked as Back-Channel Logout 1.0 section 2.6 says; raises jwt errors."""
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "logout+jwt":
        raise jwt.InvalidTokenError("typ is not logout+jwt")
    metadata = digione.load_server_metadata()
    keys = jwt.PyJWKSet.from_dict(digione.fetch_jwk_set())
    if header.get("kid") not in {key.key_id for key in keys.keys}:  # the broker rotated keys
        keys = jwt.PyJWKSet.from_dict(digione.fetch_jwk_set(force=True))
    claims = jwt.decode(
        token,
        key=keys[header.get("kid")],
        algorithms=metadata.get("id_token_signing_alg_values_supported", ["RS256"]),
        audience=digione.client_id,
        issuer=metadata["issuer"],
        options={"require": ["iss", "aud", "iat", "jti", "events"]},
    )
    if LOGOUT_EVENT not in claims["events"] or "nonce" in claims:
        raise jwt.InvalidTokenError("not a logout token")
    if not (claims.get("sid") or claims.get("sub")):
        raise jwt.InvalidTokenError("neither sid nor sub")
    return claims


@app.post("/backchannel")
def backchannel():
    try:
        claims = logout_claims(request.form.get("logout_token", ""))
    except (jwt.PyJWTError, KeyError, TypeError, ValueError, OSError) as exc:
        app.logger.warning("logout token refused: %s", exc)
        return {"error": "invalid_request"}, 400, {"Cache-Control": "no-store"}
    with LOCK:
        if claims.get("sid"):
            ended = [claims["sid"]] if claims["sid"] in SESSIONS else []
        else:
            ended = [s for s, r in SESSIONS.items() if r["claims"]["sub"] == claims["sub"]]
        for sid in ended:
            del SESSIONS[sid]
    app.logger.info("back-channel logout: %d session(s) ended", len(ended))
    return "", 200, {"Cache-Control": "no-store"}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format=f"[{TITLE}] %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request lines with codes
    app.run(host="127.0.0.1", port=PORT)
