"""The real peer: oidc-provider (npm, OpenID Certified) in a node process running provider.mjs,
and a browser without JavaScript going through its sign-in and consent pages."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.conftest import (
    free_port,
    require,
)
from tests.federation.oidc.cities import ACCOUNTS, BROKER, CLAIMS
from tests.federation.oidc.fake import CLIENT_SECRET, Key

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("provider.mjs")
NODE = shutil.which("node")


def private_jwk(key: Key) -> dict:
    algorithm = ECAlgorithm if key.alg == "ES256" else RSAAlgorithm
    jwk = algorithm.to_jwk(key.private, as_dict=True)
    jwk.pop("key_ops", None)  # ["sign"], which oidc-provider would publish as it is
    return {**jwk, "kid": key.kid, "alg": key.alg, "use": "sig"}


class OidcProvider:
    """oidc-provider in a node process; ``restart`` with other keys rotates them."""

    def __init__(self, folder: Path, broker: str = BROKER, port: int | None = None):
        self.folder, self.broker = folder, broker
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.log = folder / "oidc-provider.log"
        self.process: subprocess.Popen | None = None
        self.rsa, self.ec = Key("tampere-2026-1"), Key("vantaa-ec-1", "ES256")
        self.keys = [self.rsa, self.ec]

    def config(self) -> dict:
        def client(slug: str, alg: str) -> dict:
            return {
                "client_id": f"digione-{slug}",
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{self.broker}/federation/{slug}/callback"],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
                "id_token_signed_response_alg": alg,
            }

        return {
            "issuer": self.issuer,
            "port": self.port,
            "jwks": {"keys": [private_jwk(key) for key in self.keys]},
            "clients": [client("tampere", "RS256"), client("vantaa", "ES256")],
            "claims": CLAIMS,
            "accounts": ACCOUNTS,
            "cookie_key": secrets.token_urlsafe(32),
        }

    def start(self) -> None:
        path = self.folder / "provider.json"
        path.write_text(json.dumps(self.config()))
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [NODE, str(SCRIPT), str(path)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"oidc-provider exited:\n{self.log.read_text()[-4000:]}")
            try:
                url = f"{self.issuer}/.well-known/openid-configuration"
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        pytest.fail(f"oidc-provider did not start:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self, keys: list[Key]) -> None:
        self.stop()
        self.keys = keys
        self.start()


def require_provider() -> None:
    require(NODE is not None, "node is not installed")
    require(
        (ROOT / "node_modules" / "oidc-provider" / "package.json").exists(),
        "node_modules/oidc-provider is missing: run npm ci",
    )


def sign_in_at_provider(authorize_url: str, login: str, callback_prefix: str) -> str:
    """Go through oidc-provider's own sign-in and consent pages as a browser without JavaScript
    would (plain form posts), until it sends the browser back; returns that callback URL."""
    browser = requests.Session()
    url, method, form = authorize_url, "GET", None
    for _ in range(12):
        response = browser.request(method, url, data=form, allow_redirects=False, timeout=10)
        if response.is_redirect:
            url, method, form = urljoin(url, response.headers["Location"]), "GET", None
            if url.startswith(callback_prefix):
                return url
            continue
        assert response.status_code == 200, response.text[:2000]
        page = response.text
        action = re.search(r'<form[^>]*action="([^"]+)"', page).group(1)
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        if 'name="login"' in page:
            form.update(login=login, password="any password")
        url, method = urljoin(url, action.replace("&amp;", "&")), "POST"
    raise AssertionError("the provider never sent the browser back")


def callback_path(url: str) -> str:
    """The broker-relative part of the callback URL the provider sent the browser to."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"
