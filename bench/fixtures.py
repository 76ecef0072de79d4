"""The broker's data for the benchmarks: a fresh database (SQLite file or a new PostgreSQL
database), the clients each scenario authenticates as, and tokens minted through the broker's
own code (refresh tokens in families, access tokens for introspection)."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine

PG_SERVER = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
API = "https://api.bench.digione.invalid"  # the resource server's identifier (audience)
CITY, PASSWORD = "espoo", "bench-password-1"
# OWASP's minimum for argon2id (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1): the sign-in
# target is stated against it. DigiOne's default (config/defaults.toml) is stronger.
OWASP_ARGON2ID = {"time_cost": 2, "memory_kib": 19456, "parallelism": 1}
REDIRECT = "https://service.bench.digione.invalid/cb"
VERIFIER = "bench-pkce-verifier-" + "x" * 30  # RFC 7636: 43..128 characters


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A migrated, empty database for one benchmark run, dropped afterwards (PostgreSQL)."""
    from idp.migrate import scratch_database, upgrade

    server = PG_SERVER if backend == "postgresql" else None
    with scratch_database(server, folder, "digione_bench") as url:
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def broker_env(url: str, folder: Path) -> dict[str, str]:
    """The broker's configuration, as an operator would give it (environment variables)."""
    return {
        **os.environ,
        "DIGIONE_DATABASE_URL": url,
        "DIGIONE_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DIGIONE_SERVER_SECRET_KEY": secrets.token_urlsafe(36),
        "DIGIONE_SERVER_INSTANCE_DIR": str(folder / "instance"),
        "DIGIONE_OIDC_PAIRWISE_SECRET": secrets.token_urlsafe(36),
        "DIGIONE_DEMO_ENABLED": "false",
        **{f"DIGIONE_PASSWORDS_{k.upper()}": str(v) for k, v in OWASP_ARGON2ID.items()},
    }


@dataclass
class Client:
    client_id: str
    secret: str

    @property
    def basic(self) -> str:
        pair = f"{self.client_id}:{self.secret}".encode()
        return "Basic " + base64.b64encode(pair).decode()


@dataclass
class Seeded:
    cc: dict[str, Client]  # client_credentials clients by access token alg
    rp: Client  # a relying party with refresh tokens
    rs: Client  # the resource server that introspects


class Broker:
    """The broker's app, in this process, on the benchmark's database (for seeding)."""

    def __init__(self, env: dict[str, str]):
        from idp import create_app

        self.app = create_app(
            {
                "database": {"url": env["DIGIONE_DATABASE_URL"]},
                "master": {"key": env["DIGIONE_MASTER_KEY"]},
                "server": {
                    "instance_dir": env["DIGIONE_SERVER_INSTANCE_DIR"],
                    "secret_key": env["DIGIONE_SERVER_SECRET_KEY"],
                    "issuer": env.get("DIGIONE_SERVER_ISSUER", "http://127.0.0.1:5000"),
                },
                "oidc": {"pairwise_secret": env["DIGIONE_OIDC_PAIRWISE_SECRET"]},
                "demo": {"enabled": False},
                "passwords": OWASP_ARGON2ID,
                "logging": {"level": "WARNING"},
            }
        )

    def seed(self) -> Seeded:
        from core.db import db
        from idp.oidc import clients
        from keys.app import key_store

        with self.app.app_context():
            key_store(maintain=False).ensure()  # before the server starts: one set of keys

        def register(metadata: dict) -> Client:
            made = clients.register(db.session, metadata, admin=True, development=True)
            return Client(made.client.client_id, made.client_secret)

        with self.app.app_context():
            cc = {
                alg: register(
                    {
                        "client_name": f"Bench {alg}",
                        "grant_types": ["client_credentials"],
                        "scope": "edu:school",
                        "access_token_signed_response_alg": alg,
                        "resources": [API],
                    }
                )
                for alg in ("RS256", "ES256")
            }
            rp = register(
                {
                    "client_name": "Bench service",
                    "redirect_uris": [REDIRECT],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "scope": "openid offline_access edu:school",
                }
            )
            rs = register(
                {
                    "client_name": "Bench API",
                    "grant_types": ["client_credentials"],
                    "scope": "edu:school",
                    "resources": [API],
                    "introspection": True,
                }
            )
            db.session.commit()
        return Seeded(cc, rp, rs)

    def refresh_tokens(self, client_id: str, count: int) -> list[str]:
        """``count`` refresh tokens, each of its own family (as after a sign-in each)."""
        from core.db import db, utcnow
        from federation.models import Person
        from idp.oidc import OIDC
        from idp.oidc.models import TokenFamily

        provider = OIDC.of(self.app).provider
        with self.app.app_context():
            person = Person(given_name="Bench", family_name="Pupil")
            db.session.add(person)
            db.session.flush()
            minter, out = provider.minter(), []
            for _ in range(count):
                family = TokenFamily(
                    client_id=client_id,
                    person_id=person.id,
                    scope="openid offline_access edu:school",
                    auth_time=utcnow(),
                    acr="bench",
                    amr=["pwd"],
                )
                db.session.add(family)
                db.session.flush()
                out.append(minter.refresh_token(family))
            db.session.commit()
        return out

    def access_token(self, client_id: str) -> str:
        """A JWT access token of ``client_id`` for the benchmark API (introspection)."""
        from core.db import db
        from idp.oidc import OIDC
        from idp.oidc.models import Client as ClientRow

        provider = OIDC.of(self.app).provider
        with self.app.app_context():
            client = db.session.get(ClientRow, client_id)
            minted = provider.minter().access_token(client, "edu:school", audience=API)
            db.session.commit()
            return minted.token

    def accounts(self, count: int) -> list[str]:
        """``count`` pupils in the embedded directory of CITY, all with PASSWORD."""
        from core.app import config_of
        from core.db import db
        from federation.embedded.models import EmbeddedAccount
        from federation.embedded.passwords import hasher_for

        with self.app.app_context():
            digest = hasher_for(config_of(self.app).settings.passwords).hash(PASSWORD)
            names = [f"bench{number:04d}" for number in range(count)]
            for name in names:
                db.session.add(
                    EmbeddedAccount(
                        city=CITY, username=name, password_hash=digest, given_name="Bench",
                        family_name=name, roles=[{"role": "learner"}],
                    )
                )  # fmt: skip
            db.session.commit()
        return names


def sso_cookies(base: str, users: list[str]) -> list[str]:
    """Sign each user in through the pages (as a browser) and keep the SSO session cookie."""
    import re

    import requests

    cookies = []
    for user in users:
        browser = requests.Session()
        form = browser.get(f"{base}/login/{CITY}", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        done = browser.post(
            f"{base}/login/{CITY}",
            data={"csrf_token": token, "username": user, "password": PASSWORD},
            allow_redirects=False,
            timeout=30,
        )
        if done.status_code != 302 or "digione_sso" not in browser.cookies:
            raise RuntimeError(f"sign-in of {user} failed: {done.status_code}")
        cookies.append(f"digione_sso={browser.cookies['digione_sso']}")
    return cookies


def authorization(client_id: str) -> tuple[str, str]:
    """The authorization request (without state) and the token request body (without the
    code) of a PKCE S256 code flow for ``client_id``."""
    import hashlib
    from urllib.parse import urlencode

    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "nonce": "bench",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
    )
    body = urlencode(
        {"grant_type": "authorization_code", "redirect_uri": REDIRECT, "code_verifier": VERIFIER}
    )
    return f"/oidc/authorize?{query}", body


CONSENT_PURPOSE = "bench-assessments"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PAIRWISE_SUB = "urn:digione:params:oauth:token-type:pairwise-sub"


def _texts(text: str) -> dict[str, str]:
    return {"fi": text, "sv": text, "en": text}


def consent_purpose(broker: Broker, source: Client) -> tuple[Client, dict]:
    """A recipient service registered for token exchange, and a purpose (all guardians
    decide) under which it receives data from ``source``; the recipient's metadata."""
    from consent import purposes
    from core.db import db
    from idp.oidc import clients

    with broker.app.app_context():
        made = clients.register(
            db.session,
            {"client_name": "Bench analytics", "grant_types": [TOKEN_EXCHANGE],
             "redirect_uris": [], "scope": "openid"},
            admin=True, development=True,
        )  # fmt: skip
        spec = purposes.parse(
            {
                "id": CONSENT_PURPOSE,
                "title": _texts("Bench analytics receives assessments"),
                "description": _texts("For the benchmark."),
                "data": _texts("Assessments"),
                "retention": _texts("One year"),
                "scopes": ["school:assessments"],
                "source": source.client_id,
                "recipient": made.client.client_id,
                "validity_days": 3650,
            }
        )
        purposes.add(db.session, spec, created_by="bench")
        db.session.commit()
        return Client(made.client.client_id, made.client_secret), dict(made.client.client_metadata)


def admin_tool(broker: Broker) -> str:
    """The Authorization header of an administrator's tool for Espoo (admin API, an access
    token of an hour, the longest a client may have), for the administrators' list."""
    from core.db import db
    from idp.oidc import OIDC, clients

    provider = OIDC.of(broker.app).provider
    with broker.app.app_context():
        made = clients.register(
            db.session,
            {"client_name": "Bench admin tool", "grant_types": ["client_credentials"],
             "redirect_uris": [], "scope": "digione:admin", "admin_city": "espoo",
             "access_token_lifetime": 3600},
            admin=True, development=True,
        )  # fmt: skip
        minted = provider.minter().access_token(
            made.client, "digione:admin", audience=provider.issuer
        )
        db.session.commit()
        return f"Bearer {minted.token}"


def list_queries(children: int, schools: int, count: int = 1000) -> list[str]:
    """Query strings of the administrators' list, as the console's filters make them: none,
    states, a school, a school and a state, a learner id, a week, the start of a name."""
    import random
    from datetime import date, timedelta

    from bench.seed_consent import learner_id

    pick = random.Random(7)  # noqa: S311 - which filters, not a secret
    made = []
    for _ in range(count):
        school = f"9{pick.randrange(schools):04d}"
        start = date(2024, 1, 8) + timedelta(days=pick.randrange(600))
        made.append(
            pick.choice(
                [
                    "",
                    "state=given",
                    "state=withdrawn,refused",
                    f"school={school}",
                    f"school={school}&state=given",
                    f"learner_id={learner_id(pick.randint(1, children))}",
                    f"from={start}&to={start + timedelta(days=6)}",
                    f"name=Bench+Child+{pick.randint(1, children)}",
                ]
            )
        )
    return made
