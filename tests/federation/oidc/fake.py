"""A provider under the test's control, in-process on loopback (http.server): a stand-in for a
broken or malicious city provider. It serves discovery, a JWKS, a token endpoint that returns
whatever ID token the test crafted, and userinfo. It never checks anything itself: the tests
look at what the broker sent (``requests``)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

CLIENT_ID = "digione-tampere"
CLIENT_SECRET = "s3cret/with:odd chars+"
CALLBACK = "http://127.0.0.1:5000/federation/tampere/callback"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def compact(header: dict, claims: dict, signature: bytes = b"") -> str:
    """A compact JWS put together by hand, with whatever signature bytes."""
    return f"{b64json(header)}.{b64json(claims)}.{b64url(signature)}"


def hs256(header: dict, claims: dict, secret: bytes) -> str:
    header = {**header, "alg": "HS256"}
    signing_input = f"{b64json(header)}.{b64json(claims)}".encode()
    return compact(header, claims, hmac.new(secret, signing_input, hashlib.sha256).digest())


def public_jwk(key, kid: str, alg: str) -> dict:
    algorithm = ECAlgorithm if alg == "ES256" else RSAAlgorithm
    jwk = algorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", "alg": alg}


@functools.cache
def _private_key(kid: str, alg: str):
    """One key pair per kid for the whole run (RSA generation is slow)."""
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Key:
    """A signing key pair of the provider (or of an attacker)."""

    def __init__(self, kid: str, alg: str = "RS256"):
        self.kid, self.alg = kid, alg
        self.private = _private_key(kid, alg)
        self.jwk = public_jwk(self.private, kid, alg)

    def sign(self, claims: dict, alg: str | None = None, **headers) -> str:
        headers = {"kid": self.kid, **headers}
        headers = {name: value for name, value in headers.items() if value is not None}
        return jwt.encode(claims, self.private, algorithm=alg or self.alg, headers=headers)

    def sign_raw(self, header: dict, claims: dict) -> str:
        """RS256 over any header at all (PyJWT would refuse some, e.g. a kid that is a number)."""
        header = {"alg": "RS256", **header}
        signing_input = f"{b64json(header)}.{b64json(claims)}".encode()
        signature = self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return compact(header, claims, signature)


class FakeProvider:
    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.rsa, self.ec = Key("rsa-1"), Key("ec-1", "ES256")
        self.published: list[dict] = [self.rsa.jwk, self.ec.jwk]
        self.discovery_extra: dict[str, Any] = {}
        self.id_token: str = ""
        self.access_token = "access-token-1"
        self.token_answer: Callable[[], tuple[int, dict]] | None = None
        self.userinfo: dict[str, Any] = {}
        self.userinfo_type = "application/json"
        self.delay = 0.0  # seconds every answer waits (a provider that hangs)
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def claims(self, nonce: str, /, **changes) -> dict[str, Any]:
        """A valid ID token's claims for the broker; ``changes`` replace (None: remove)."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "108214377213",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "hd": "edu.tampere.fi",
            "email": "eetu.lahtinen@edu.tampere.fi",
            "given_name": "Eetu",
            "family_name": "Lahtinen",
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/auth",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "authorization_response_iss_parameter_supported": True,
            **self.discovery_extra,
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _handler(provider: FakeProvider):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def _answer(self, status: int, body: Any, content_type="application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the broker gave up waiting (the timeout tests)

        def _record(self, form: dict[str, str]) -> str:
            path = urlsplit(self.path).path
            provider.hits[path] += 1
            provider.requests.append((path, dict(self.headers), form))
            if provider.delay:
                time.sleep(provider.delay)
            return path

        def do_GET(self):
            path = self._record({})
            if path == "/.well-known/openid-configuration":
                self._answer(200, provider.discovery())
            elif path == "/jwks":
                self._answer(200, {"keys": provider.published})
            elif path == "/userinfo":
                body = provider.userinfo
                if provider.userinfo_type != "application/json":
                    body = json.dumps(body).encode()
                self._answer(200, body, provider.userinfo_type)
            else:  # /attacker/... : anything the broker must never fetch
                self._answer(404, {"error": "not_found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            if self._record(form) != "/token":
                return self._answer(404, {"error": "not_found"})
            if provider.token_answer is not None:
                return self._answer(*provider.token_answer())
            self._answer(
                200,
                {
                    "access_token": provider.access_token,
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": provider.id_token,
                },
            )

    return Handler
