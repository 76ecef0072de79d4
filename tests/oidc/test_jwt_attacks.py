"""The JWT list of CHECKLISTS.md at every place the broker accepts a JWT today:

- access tokens at /oidc/userinfo (RFC 6750, RFC 9068) and /oidc/introspect (RFC 7662),
- client assertions at /oidc/token (private_key_jwt, RFC 7523, OIDC Core section 9),
- id_token_hint at /oidc/authorize (OIDC Core section 3.1.2.1) and /oidc/logout (RP-Initiated
  Logout 1.0 section 2).

One set of forgeries (``ATTACKS``, named after the checklist: alg none in any spelling, missing or
broken signature, HMAC keyed with the public key, keys from the token (jwk, jku, x5u, x5c), kid
traversal and injection, ECDSA r=s=0, unknown crit, b64=false, wrong iss, expired, not yet valid)
is tried against each place, beside each place's own cases (wrong typ, wrong aud). Positive
controls sign the same header and claims with the legitimate key, so a refusal is known to come
from the forgery and not from the test's token building. A refusal is the place's own error,
never a 500. Each forgery is a subtest named after its ATTACKS key (one app per place: the
seeded app takes about a second to build).

Not here: upstream ID tokens (the cities are not OIDC upstreams yet) and SAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.oidc.forge import (
    TOKEN_ENDPOINT,
    KeyPair,
    assertion_claims,
    assertion_form,
    b64json,
    b64url,
    broker_private_key,
    compact,
    hs256,
    now,
    parts,
    public_key_forms,
    sign_as,
    unb64,
)
from tests.oidc.helpers import (
    RP,
    auth_params,
    exchange,
    get_code,
    pkce,
    redirect_params,
    register,
    signed_in_browser,
)

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
HMAC_FORMS = ["pem", "pem_stripped", "der", "jwk_json", "pkcs1_pem"]


@dataclass
class Target:
    """A place that accepts a JWT: a valid header and claims for it, and the legitimate keys
    (the broker's for access tokens and hints, the client's for assertions) with the public
    halves an attacker knows."""

    header: dict
    make_claims: Callable[[], dict]
    rsa_kid: str
    rsa_key: object
    rsa_jwk: dict
    ec_kid: str
    ec_key: object
    ec_jwk: dict

    def claims(self, **changes) -> dict:
        claims = {**self.make_claims(), **changes}
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, header: dict | None = None, claims: dict | None = None) -> str:
        """Signed by the legitimate key that matches the header's alg, the header as given."""
        header = dict(self.header if header is None else header)
        claims = self.claims() if claims is None else claims
        if header.get("alg") == "ES256":
            return sign_as({**header, "kid": self.ec_kid}, claims, self.ec_key)
        return sign_as(header, claims, self.rsa_key)

    def signed_es256(self) -> str:
        return self.sign(header={**self.header, "alg": "ES256"})


def _flip_signature(token: str) -> str:
    head, payload, signature = token.split(".")
    raw = bytearray(unb64(signature))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{payload}.{b64url(bytes(raw))}"


def _claims_changed_after_signing(t: Target) -> str:
    head, _payload, signature = t.sign().split(".")
    return f"{head}.{b64json(t.claims(scope='openid profile email edu:learner_id'))}.{signature}"


def _hmac(t: Target, jwk: dict, kid: str, form: str) -> str:
    secret = public_key_forms(jwk)[HMAC_FORMS.index(form)]
    return hs256({**t.header, "kid": kid}, t.claims(), secret)


def _attacker(t: Target, **header) -> str:
    """Signed by a key of the attacker's, with the given header members."""
    attacker = KeyPair.rsa()
    members = {"kid": attacker.kid, **header}
    members = {k: (v(attacker) if callable(v) else v) for k, v in members.items()}
    return sign_as({**t.header, **members}, t.claims(), attacker.private_key)


def _ecdsa(t: Target, signature: bytes) -> str:
    return compact({**t.header, "alg": "ES256", "kid": t.ec_kid}, t.claims(), signature)


ATTACKS: dict[str, Callable[[Target], str]] = {
    # alg none in any case spelling
    "alg_none": lambda t: compact({**t.header, "alg": "none"}, t.claims()),
    "alg_None": lambda t: compact({**t.header, "alg": "None"}, t.claims()),
    "alg_NONE": lambda t: compact({**t.header, "alg": "NONE"}, t.claims()),
    "alg_nOnE_keeping_signature": lambda t: ".".join(
        [b64json({**t.header, "alg": "nOnE"}), *t.sign().split(".")[1:]]
    ),
    # missing or broken signature
    "missing_signature_segment": lambda t: f"{b64json(t.header)}.{b64json(t.claims())}",
    "empty_signature": lambda t: compact(t.header, t.claims()),
    "broken_signature": lambda t: _flip_signature(t.sign()),
    "claims_changed_after_signing": _claims_changed_after_signing,
    # HMAC keyed with the RSA or EC public key (algorithm confusion)
    **{
        f"hs256_keyed_with_rsa_public_key_{form}": (
            lambda t, form=form: _hmac(t, t.rsa_jwk, t.rsa_kid, form)
        )
        for form in HMAC_FORMS
    },
    **{
        f"hs256_keyed_with_ec_public_key_{form}": (
            lambda t, form=form: _hmac(t, t.ec_jwk, t.ec_kid, form)
        )
        for form in HMAC_FORMS[:4]
    },
    # keys taken from the token itself
    "jwk_header": lambda t: _attacker(t, jwk=lambda a: a.public_jwk()),
    "jwk_header_with_our_kid": lambda t: _attacker(
        t, kid=t.rsa_kid, jwk=lambda a: {**a.public_jwk(), "kid": t.rsa_kid}
    ),
    "jku_header": lambda t: _attacker(t, jku="https://attacker.example/jwks.json"),
    "x5u_header": lambda t: _attacker(t, x5u="https://attacker.example/cert.pem"),
    "x5c_header": lambda t: _attacker(t, x5c=lambda a: [a.certificate_b64()]),
    # kid path traversal or injection
    "kid_path_traversal": lambda t: _attacker(t, kid="../../etc/passwd"),
    "kid_path_traversal_hmac_dev_null": lambda t: hs256(
        {**t.header, "kid": "../../../../../../dev/null"}, t.claims(), b""
    ),
    "kid_sql_injection": lambda t: _attacker(t, kid="' OR 1=1 --"),
    "kid_sql_injection_hmac_empty_key": lambda t: hs256(
        {**t.header, "kid": "x' UNION SELECT '' --"}, t.claims(), b""
    ),
    "kid_not_a_string": lambda t: _attacker(t, kid=[t.rsa_kid]),
    "kid_header_injection": lambda t: _attacker(t, kid='x\r\nSet-Cookie: a=b"\\ é€'),
    # ECDSA r = s = 0 ("psychic signatures", CVE-2022-21449) and r = s = n
    "ecdsa_zero_signature": lambda t: _ecdsa(t, bytes(64)),
    "ecdsa_zero_signature_der": lambda t: _ecdsa(t, bytes.fromhex("3006020100020100")),
    "ecdsa_r_s_equal_curve_order": lambda t: _ecdsa(t, P256_ORDER.to_bytes(32, "big") * 2),
    # unknown crit header, b64=false (RFC 7797); signed by the legitimate key
    "crit_unknown": lambda t: t.sign(
        header={**t.header, "crit": ["urn:example:unknown"], "urn:example:unknown": True}
    ),
    "crit_not_a_list": lambda t: t.sign(header={**t.header, "crit": 5}),
    "crit_malformed_member": lambda t: t.sign(header={**t.header, "crit": [["kid"]]}),
    "b64_false": lambda t: t.sign(header={**t.header, "b64": False, "crit": ["b64"]}),
    "b64_false_without_crit": lambda t: t.sign(header={**t.header, "b64": False}),
    # wrong iss, expired, not yet valid; signed by the legitimate key
    "wrong_iss": lambda t: t.sign(claims=t.claims(iss="https://attacker.example")),
    "expired": lambda t: t.sign(claims=t.claims(iat=now() - 3600, exp=now() - 600)),
    "nbf_in_future": lambda t: t.sign(claims=t.claims(nbf=now() + 3600, exp=now() + 7200)),
    "iat_in_future": lambda t: t.sign(claims=t.claims(iat=now() + 3600, exp=now() + 7200)),
}


# -- the broker's own tokens ----------------------------------------------------------------------


@dataclass
class Issued:
    app: object
    client: object
    browser: object
    rp: RP
    tokens: dict


@pytest.fixture
def issued(seeded) -> Issued:
    """A relying party, a browser signed in as espoo/pupil1, and the tokens of one code flow."""
    rp = register(seeded)
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp, scope="openid profile offline_access")
    response = exchange(browser, rp, code, verifier)
    assert response.status_code == 200, response.json
    return Issued(seeded, seeded.test_client(), browser, rp, response.json)


def broker_target(issued: Issued, token: str) -> Target:
    header, claims = parts(token)
    rsa_kid, rsa_key = broker_private_key(issued.app, "rs256")
    ec_kid, ec_key = broker_private_key(issued.app, "es256")
    published = {k["kid"]: k for k in issued.client.get("/.well-known/jwks.json").json["keys"]}
    return Target(
        header={**header, "kid": rsa_kid},
        make_claims=lambda: dict(claims),
        rsa_kid=rsa_kid,
        rsa_key=rsa_key,
        rsa_jwk=published[rsa_kid],
        ec_kid=ec_kid,
        ec_key=ec_key,
        ec_jwk=published[ec_kid],
    )


# (a) access tokens at /oidc/userinfo and /oidc/introspect


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def userinfo(issued: Issued, token: str):
    return issued.client.get("/oidc/userinfo", headers=bearer(token))


def introspect(issued: Issued, token: str):
    return issued.client.post("/oidc/introspect", data={"token": token}, headers=issued.rp.basic())


def assert_refused(issued: Issued, token: str, *, introspection: bool = True) -> None:
    response = userinfo(issued, token)
    assert response.status_code == 401, (response.status_code, response.get_data(as_text=True))
    assert response.json["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response.headers["Cache-Control"] == "no-store"
    if introspection:
        response = introspect(issued, token)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json == {"active": False}


def assert_accepted(issued: Issued, token: str) -> None:
    response = userinfo(issued, token)
    assert response.status_code == 200, response.json
    assert response.json["sub"] == parts(token)[1]["sub"]
    response = introspect(issued, token)
    assert response.json["active"] is True
    assert response.json["jti"] == parts(token)[1]["jti"]


@pytest.fixture
def access(issued) -> Target:
    return broker_target(issued, issued.tokens["access_token"])


def test_access_token_controls_accepted(issued, access):
    """The real token, and its header and claims signed again by the broker's RS256 and ES256
    keys, are accepted: the attacks below differ from these only by the forgery."""
    assert_accepted(issued, issued.tokens["access_token"])
    assert_accepted(issued, access.sign())
    assert_accepted(issued, access.signed_es256())


def test_access_token_attacks_refused(issued, access, subtests):
    """Every forgery of ATTACKS, at userinfo and at introspection (one subtest each)."""
    for attack, forge in ATTACKS.items():
        with subtests.test(attack=attack):
            assert_refused(issued, forge(access))


def test_access_token_wrong_aud_refused_at_userinfo(issued, access):
    """wrong aud: userinfo accepts only tokens for the issuer (the token's audience is checked
    there); introspection answers for any audience of the asking client's tokens (RFC 7662)."""
    token = access.sign(claims=access.claims(aud="https://api.attacker.example"))
    assert_refused(issued, token, introspection=False)
    token = access.sign(claims=access.claims(aud=["https://api.attacker.example"]))
    assert_refused(issued, token, introspection=False)


def test_id_token_presented_as_access_token_refused(issued, access):
    """wrong typ (an ID token presented as an access token, RFC 9068 section 4): the real ID
    token, and the access token's own claims under typ JWT, logout+jwt or none at all."""
    assert_refused(issued, issued.tokens["id_token"])
    for typ in ("JWT", "logout+jwt", "secevent+jwt", "at+jwt+x", 1, None, ["at+jwt"]):
        assert_refused(issued, access.sign(header={**access.header, "typ": typ}))
    untyped = {k: v for k, v in access.header.items() if k != "typ"}
    assert_refused(issued, access.sign(header=untyped))


def test_access_token_missing_required_claim_refused(issued, access, subtests):
    """RFC 9068 section 2.2: iss, exp, aud, sub, client_id, iat and jti are required."""
    for claim in ("iss", "sub", "aud", "exp", "iat", "jti", "client_id"):
        with subtests.test(missing=claim):
            assert_refused(issued, access.sign(claims=access.claims(**{claim: None})))


def test_access_token_signed_by_unpublished_key_refused(issued, access):
    """Only the keys in the JWKS (rs256, es256) sign access tokens: not the SAML key (RS256,
    never in the JWKS) nor the audit checkpoint key (EdDSA)."""
    kid, key = broker_private_key(issued.app, "saml")
    assert_refused(issued, sign_as({**access.header, "kid": kid}, access.claims(), key))
    kid, key = broker_private_key(issued.app, "audit")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    header = {"typ": "at+jwt", "kid": kid}
    assert_refused(issued, jwt.encode(access.claims(), key, algorithm="EdDSA", headers=header))
    assert_refused(issued, compact({**header, "alg": "ES256"}, access.claims(), bytes(64)))


GARBAGE = [
    "x",
    "a.b",
    "a.b.c",
    "....",
    "e30.e30.",
    "W10.e30.",
    "eyJraWQiOjF9.e30.AA",
    "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.AA",
    "\u00e9.\u00e9.\u00e9",
]


def test_access_token_garbage_refused(issued, subtests):
    for token in GARBAGE:
        with subtests.test(token=token):
            assert_refused(issued, token)


def test_userinfo_challenge_is_well_formed(issued, access):
    """RFC 6750 section 3: error_description is a quoted-string of %x20-21 / %x23-5B / %x5D-7E."""
    pattern = re.compile(
        r'Bearer error="[a-z_]+", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*"'
    )
    for token in (ATTACKS["expired"](access), access.sign(claims=access.claims(jti=None))):
        header = userinfo(issued, token).headers["WWW-Authenticate"]
        assert pattern.fullmatch(header), header


# (c) id_token_hint at /oidc/authorize


@pytest.fixture
def hint(issued) -> Target:
    return broker_target(issued, issued.tokens["id_token"])


def authorize_with_hint(issued: Issued, id_token_hint: str, **extra):
    _verifier, challenge = pkce()
    params = auth_params(issued.rp, challenge, id_token_hint=id_token_hint, **extra)
    return issued.browser.get("/oidc/authorize", query_string=params)


def assert_hint_matches(issued: Issued, token: str) -> None:
    result = redirect_params(authorize_with_hint(issued, token, prompt="none"))
    assert "code" in result, result


def assert_hint_refused(issued: Issued, token: str) -> None:
    """With prompt=none, a hint that does not verify is not the signed-in person:
    login_required goes back to the client, never a code (OIDC Core section 3.1.2.6)."""
    result = redirect_params(authorize_with_hint(issued, token, prompt="none"))
    assert result.get("error") == "login_required", result
    assert "code" not in result


def test_id_token_hint_controls_match(issued, hint):
    """The real ID token, the same signed again by RS256 and ES256 keys, and an expired one
    (OIDC Core section 3.1.2.1: the hint may have expired) are the signed-in person."""
    assert_hint_matches(issued, issued.tokens["id_token"])
    assert_hint_matches(issued, hint.sign())
    assert_hint_matches(issued, hint.signed_es256())
    assert_hint_matches(issued, hint.sign(claims=hint.claims(iat=now() - 7200, exp=now() - 3600)))


def test_id_token_hint_attacks_refused(issued, hint, subtests):
    """Every forgery of ATTACKS but ``expired`` (one subtest each)."""
    for attack, forge in ATTACKS.items():
        if attack != "expired":
            with subtests.test(attack=attack):
                assert_hint_refused(issued, forge(hint))


def test_id_token_hint_refused_without_prompt_none_asks_to_sign_in(issued, hint):
    """Without prompt=none a hint that does not verify sends the person to sign in again,
    never straight back to the client with a code."""
    for attack in ("alg_none", "hs256_keyed_with_rsa_public_key_pem", "jwk_header"):
        response = authorize_with_hint(issued, ATTACKS[attack](hint))
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert (location.scheme, location.netloc, location.path) == ("", "", "/"), location
        assert "next" in parse_qs(location.query)


def test_id_token_hint_wrong_aud_refused(issued, hint):
    """wrong aud, azp: an ID token of ours issued to another client is no hint for this one."""
    other = register(issued.app)
    assert_hint_refused(issued, hint.sign(claims=hint.claims(aud=other.client_id)))
    assert_hint_refused(
        issued, hint.sign(claims=hint.claims(aud=other.client_id, azp=other.client_id))
    )
    assert_hint_refused(issued, hint.sign(claims=hint.claims(aud=[other.client_id])))


def test_id_token_hint_for_another_person_refused(issued):
    """A genuine ID token of another person (espoo/teacher1) for the same client."""
    browser = signed_in_browser(issued.app, "espoo", "teacher1")
    code, verifier, _ = get_code(browser, issued.rp)
    other = exchange(browser, issued.rp, code, verifier).json["id_token"]
    assert parts(other)[1]["sub"] != parts(issued.tokens["id_token"])[1]["sub"]
    assert_hint_refused(issued, other)


def test_access_token_as_id_token_hint_refused(issued):
    """wrong typ: the access token (typ at+jwt, aud = the issuer) presented as an ID token."""
    assert_hint_refused(issued, issued.tokens["access_token"])


def test_id_token_hint_garbage_refused(issued, subtests):
    for value in GARBAGE:
        with subtests.test(id_token_hint=value):
            assert_hint_refused(issued, value)


# (d) id_token_hint at /oidc/logout (RP-Initiated Logout 1.0 section 2)


def logout_with_hint(issued: Issued, id_token_hint: str):
    return issued.browser.get("/oidc/logout", query_string={"id_token_hint": id_token_hint})


def still_signed_in(issued: Issued) -> bool:
    _verifier, challenge = pkce()
    params = auth_params(issued.rp, challenge, prompt="none")
    return "code" in redirect_params(issued.browser.get("/oidc/authorize", query_string=params))


def test_logout_id_token_hint_attacks_refused(issued, hint, subtests):
    """A hint that does not verify never signs the person out silently: a page (today an error
    page, 400; a confirmation page would do), the person stays signed in. The control, the
    real ID token, signs out at once."""
    for attack, forge in ATTACKS.items():
        if attack != "expired":  # an expired hint is accepted, as at /oidc/authorize
            with subtests.test(attack=attack):
                response = logout_with_hint(issued, forge(hint))
                assert response.status_code in (200, 400), response.status_code
    assert still_signed_in(issued)
    response = logout_with_hint(issued, issued.tokens["id_token"])
    assert response.status_code == 302
    assert not still_signed_in(issued)


# (b) client assertions at /oidc/token (private_key_jwt)


@dataclass
class AssertionClient:
    app: object
    client: object
    client_id: str
    rsa: KeyPair
    ec: KeyPair


@pytest.fixture
def pkjwt(app) -> AssertionClient:
    """A client_credentials client with private_key_jwt and an RSA and an EC key."""
    rsa, ec = KeyPair.rsa(), KeyPair.ec()
    rp = register(
        app,
        redirect_uris=[],
        grant_types=["client_credentials"],
        scope="edu:school",
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [rsa.public_jwk(), ec.public_jwk()]},
    )
    return AssertionClient(app, app.test_client(), rp.client_id, rsa, ec)


@pytest.fixture
def assertion(pkjwt) -> Target:
    return Target(
        header={"alg": "RS256", "kid": pkjwt.rsa.kid},
        make_claims=lambda: assertion_claims(pkjwt.client_id),
        rsa_kid=pkjwt.rsa.kid,
        rsa_key=pkjwt.rsa.private_key,
        rsa_jwk=pkjwt.rsa.public_jwk(),
        ec_kid=pkjwt.ec.kid,
        ec_key=pkjwt.ec.private_key,
        ec_jwk=pkjwt.ec.public_jwk(),
    )


def token_request(pkjwt: AssertionClient, client_assertion: str):
    data = assertion_form(client_assertion, grant_type="client_credentials", scope="edu:school")
    return pkjwt.client.post("/oidc/token", data=data)


def assert_assertion_refused(pkjwt: AssertionClient, client_assertion: str) -> None:
    """RFC 6749 section 5.2: invalid_client, 401 with a challenge, JSON, not cached."""
    response = token_request(pkjwt, client_assertion)
    assert response.status_code == 401, (response.status_code, response.get_data(as_text=True))
    assert response.json["error"] == "invalid_client"
    assert "access_token" not in response.json
    assert response.headers.get("WWW-Authenticate")
    assert response.headers["Cache-Control"] == "no-store"


def test_client_assertion_controls_accepted(pkjwt, assertion):
    for client_assertion in (assertion.sign(), assertion.signed_es256()):
        response = token_request(pkjwt, client_assertion)
        assert response.status_code == 200, response.json
        assert response.json["scope"] == "edu:school"


def test_client_assertion_attacks_refused(pkjwt, assertion, subtests):
    """Every forgery of ATTACKS (one subtest each)."""
    for attack, forge in ATTACKS.items():
        with subtests.test(attack=attack):
            assert_assertion_refused(pkjwt, forge(assertion))


def test_client_assertion_wrong_aud_refused(pkjwt, assertion, subtests):
    """aud must be the issuer or the token endpoint (get_audiences), nothing else."""
    for aud in (
        "https://attacker.example/oidc/token",
        f"{TOKEN_ENDPOINT}/",
        "http://127.0.0.1:5000/oidc/introspect",
        "http://127.0.0.1:5000/oidc/authorize",
        "http://127.0.0.1:5000/",
        ["https://attacker.example"],
    ):
        with subtests.test(aud=aud):
            assert_assertion_refused(pkjwt, assertion.sign(claims=assertion.claims(aud=aud)))


def test_client_assertion_wrong_typ_refused(pkjwt, assertion, subtests):
    """wrong typ (a logout token as a client assertion): a JWT the client signed for another
    purpose, typed as such, is no client assertion even with the right claims."""
    for typ in (
        "logout+jwt",
        "application/logout+jwt",
        "at+jwt",
        "secevent+jwt",
        "oauth-authz-req+jwt",
        1,
        None,
    ):
        with subtests.test(typ=typ):
            client_assertion = assertion.sign(header={**assertion.header, "typ": typ})
            assert_assertion_refused(pkjwt, client_assertion)


def test_client_assertion_typ_jwt_accepted(pkjwt, assertion):
    """typ JWT (RFC 7519 section 5.1) is what most client libraries send."""
    for typ in ("JWT", "client-authentication+jwt"):
        response = token_request(pkjwt, assertion.sign(header={**assertion.header, "typ": typ}))
        assert response.status_code == 200, (typ, response.json)


def test_broker_id_token_as_client_assertion_refused(issued, pkjwt):
    """The broker's own ID token (signed by the broker, sub a person) is no client assertion."""
    assert_assertion_refused(pkjwt, issued.tokens["id_token"])
    assert_assertion_refused(pkjwt, issued.tokens["access_token"])


def test_client_assertion_for_another_client_refused(pkjwt, assertion):
    """iss = sub = another private_key_jwt client, signed with this client's key."""
    other = register(
        pkjwt.app,
        redirect_uris=[],
        grant_types=["client_credentials"],
        scope="edu:school",
        token_endpoint_auth_method="private_key_jwt",
        jwks=KeyPair.rsa().jwks(),
    )
    claims = assertion_claims(other.client_id)
    assert_assertion_refused(pkjwt, assertion.sign(claims=claims))
