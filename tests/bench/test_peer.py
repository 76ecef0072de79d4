"""The benchmark peer (bench/peer/peer.mjs, oidc-provider) does the work the benchmark compares:
JWT access tokens of PEER_ALG for client_credentials and for refresh, refresh tokens that rotate,
and pre-minted refresh tokens that oidc-provider stores and treats exactly as a code flow's."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest
import requests

from tests.conftest import free_port, require

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "peer" / "peer.mjs"
NODE = shutil.which("node")
SECRET = "bench-secret-bench-secret-bench-secret"
CLIENT = ("bench-cc", SECRET)
RESOURCE = "https://api.bench.invalid"
REDIRECT_URI = "http://127.0.0.1/cb"

# Stored fields that differ from one token or grant to the next.
PER_TOKEN = {"jti", "iat", "exp", "iiat", "grantId", "sessionUid", "authTime", "consumed"}


@dataclass
class Peer:
    url: str
    alg: str
    refresh_tokens: list[str]
    trace: Path

    def token(self, **form: str) -> requests.Response:
        return requests.post(f"{self.url}/token", data=form, auth=CLIENT, timeout=5)

    def saved(self, kind: str = "RefreshToken") -> list[dict]:
        """The stored payloads of the ``kind`` (RefreshToken or Grant) saved so far, in order."""
        lines = self.trace.read_text().splitlines()
        return [payload for payload in map(json.loads, lines) if payload["kind"] == kind]

    def verify(self, token: str, audience: str, typ: str | None = "at+jwt") -> dict:
        """Check ``token``'s header and signature against the peer's /jwks; its claims."""
        header = jwt.get_unverified_header(token)
        assert header["alg"] == self.alg
        assert header.get("typ") == typ
        keys = jwt.PyJWKSet.from_dict(requests.get(f"{self.url}/jwks", timeout=5).json())
        (key,) = keys.keys
        assert key.key_id == header["kid"]
        return jwt.decode(token, key.key, algorithms=[self.alg], audience=audience, issuer=self.url)


@pytest.fixture
def start_peer(tmp_path: Path) -> Iterator:
    require(NODE is not None, "node is not installed")
    require(
        (ROOT / "node_modules" / "oidc-provider" / "package.json").exists(),
        "node_modules/oidc-provider is missing: run npm ci",
    )
    running: list[tuple[subprocess.Popen, Path]] = []

    def start(alg: str, refresh_tokens: int = 0) -> Peer:
        port = free_port()
        name = f"peer-{alg}-{port}"
        refresh_file, trace, log = (tmp_path / f"{name}.{ext}" for ext in ("rt", "jsonl", "log"))
        env = {
            **os.environ,
            "PEER_PORT": str(port),
            "PEER_ALG": alg,
            "PEER_REFRESH_TOKENS": str(refresh_tokens),
            "PEER_REFRESH_FILE": str(refresh_file),
            "PEER_TRACE_FILE": str(trace),
        }
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [NODE, str(SCRIPT)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr
            )
        running.append((process, log))
        ready = select.select([process.stdout], [], [], 10)[0]
        line = process.stdout.readline().decode() if ready else ""
        url = f"http://127.0.0.1:{port}"
        assert line == f"peer ready {url}\n", (line, log.read_text())
        tokens = refresh_file.read_text().split() if refresh_tokens else []
        assert len(tokens) == refresh_tokens
        return Peer(url, alg, tokens, trace)

    yield start
    for process, log in running:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"the peer did not stop on SIGTERM:\n{log.read_text()}")
        rest = process.stdout.read().decode()
        process.stdout.close()
        assert code == 0, log.read_text()
        assert rest == "", rest  # nothing after the ready line: no per-request output


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_client_credentials_and_pre_minted_refresh_rotation(start_peer, alg: str) -> None:
    peer = start_peer(alg, refresh_tokens=3)
    assert len(set(peer.refresh_tokens)) == 3

    response = peer.token(grant_type="client_credentials", scope="api:read")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "api:read"
    assert len(body["access_token"].split(".")) == 3
    claims = peer.verify(body["access_token"], RESOURCE)
    assert claims["sub"] == claims["client_id"] == "bench-cc"
    assert claims["scope"] == "api:read"
    assert claims["exp"] - claims["iat"] == 300

    # Only basic authentication with the right secret, only the one resource.
    wrong = requests.post(
        f"{peer.url}/token",
        data={"grant_type": "client_credentials"},
        auth=("bench-cc", "wrong"),
        timeout=5,
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    other = peer.token(grant_type="client_credentials", resource="https://other.invalid")
    assert other.json()["error"] == "invalid_target"

    first, untouched = peer.refresh_tokens[0], peer.refresh_tokens[1]
    chain = [first]
    for _ in range(2):
        response = peer.token(grant_type="refresh_token", refresh_token=chain[-1])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["refresh_token"] not in chain
        chain.append(body["refresh_token"])
        access = peer.verify(body["access_token"], RESOURCE)
        assert (access["sub"], access["client_id"], access["scope"]) == (
            "bench-user",
            "bench-cc",
            "api:read",
        )
        assert access["exp"] - access["iat"] == 300
        identity = peer.verify(body["id_token"], "bench-cc", typ=None)
        assert identity["sub"] == "bench-user"
        assert identity["exp"] - identity["iat"] == 300

    # A used refresh token is refused, and its reuse revokes the whole grant (as DigiOne
    # revokes the token family); the other pre-minted tokens have grants of their own.
    for used in chain[:2]:
        response = peer.token(grant_type="refresh_token", refresh_token=used)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
    assert peer.token(grant_type="refresh_token", refresh_token=chain[2]).status_code == 400
    assert peer.token(grant_type="refresh_token", refresh_token=untouched).status_code == 200

    saved = peer.saved()
    assert [token["rotations"] for token in saved] == [0, 0, 0, 1, 2, 1]


def code_flow_refresh_token(peer: Peer) -> str:
    """A refresh token the real way: /auth, oidc-provider's development sign-in and consent
    pages (any password for a known account), the code at /token."""
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    browser = requests.Session()
    url = f"{peer.url}/auth?" + "&".join(
        [
            "client_id=bench-cc",
            "response_type=code",
            f"redirect_uri={REDIRECT_URI}",
            "scope=openid%20offline_access%20api:read",
            "prompt=consent",
            f"code_challenge={challenge.decode().rstrip('=')}",
            "code_challenge_method=S256",
        ]
    )
    response = browser.get(url, allow_redirects=False, timeout=5)
    for _ in range(10):
        assert response.status_code in (302, 303), response.text
        location = urljoin(response.url, response.headers["location"])
        if location.startswith(REDIRECT_URI):
            break
        if urlsplit(location).path.startswith("/interaction/"):
            page = browser.get(location, timeout=5).text
            prompt = "login" if 'name="login"' in page else "consent"
            form = {"prompt": prompt, "login": "bench-user", "password": "x"}
            response = browser.post(location, data=form, allow_redirects=False, timeout=5)
        else:
            response = browser.get(location, allow_redirects=False, timeout=5)
    code = parse_qs(urlsplit(location).query)["code"][0]
    response = peer.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )
    assert response.status_code == 200, response.text
    return response.json()["refresh_token"]


def shape(peer: Peer, response: requests.Response) -> dict:
    """What a refresh response looks like, without the per-token values."""
    assert response.status_code == 200, response.text
    body = response.json()
    access = peer.verify(body["access_token"], RESOURCE)
    identity = peer.verify(body["id_token"], "bench-cc", typ=None)
    return {
        "response": sorted(body),
        "scope": body["scope"],
        "expires_in": body["expires_in"],
        "access token header": jwt.get_unverified_header(body["access_token"]),
        "access token": {k: v for k, v in access.items() if k not in ("jti", "iat", "exp")},
        "id token": {k: v for k, v in identity.items() if k not in ("iat", "exp", "auth_time")},
        "id token claims": sorted(identity),
    }


def test_pre_minted_refresh_token_is_a_code_flow_one(start_peer) -> None:
    peer = start_peer("RS256", refresh_tokens=1)
    (minted,) = peer.refresh_tokens
    real = code_flow_refresh_token(peer)
    (minted_saved, real_saved) = peer.saved()

    def stable(payload: dict) -> dict:
        return {k: v for k, v in payload.items() if k not in PER_TOKEN}

    assert stable(minted_saved) == stable(real_saved)
    assert stable(real_saved)["gty"] == "authorization_code"
    assert set(minted_saved) == set(real_saved)
    assert len(minted_saved["sessionUid"]) == len(real_saved["sessionUid"])
    assert abs(minted_saved["authTime"] - real_saved["authTime"]) < 60
    (minted_grant, real_grant) = peer.saved("Grant")
    assert stable(minted_grant) == stable(real_grant)
    assert real_grant["openid"] == {"scope": "openid offline_access"}
    assert real_grant["resources"] == {RESOURCE: "api:read"}

    started = time.monotonic()
    assert shape(peer, peer.token(grant_type="refresh_token", refresh_token=minted)) == shape(
        peer, peer.token(grant_type="refresh_token", refresh_token=real)
    )
    assert time.monotonic() - started < 5
    minted_rotated, real_rotated = peer.saved()[2:]
    assert stable(minted_rotated) == stable(real_rotated)
    assert stable(real_rotated)["gty"] == "authorization_code refresh_token"
    assert stable(real_rotated)["rotations"] == 1
