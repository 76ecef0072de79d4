"""The two test cities as OpenID Connect cities: Tampere shaped like Google Workspace, Vantaa like
Entra ID; their people as the provider states them; writing a city into a config folder."""

from __future__ import annotations

import json
from pathlib import Path

from idp.config import CitySettings

BROKER = "http://127.0.0.1:5000"  # server.issuer in config/defaults.toml
SECRET_ENV = "OIDC_TEST_CLIENT_SECRET"
EXT = "extension_b7a4c2d19e8f4a3c9d2e1f0a6b5c4d3e"  # an Entra ID directory extension prefix
TENANT = "5c1e2d3f-9a8b-4c7d-8e6f-1a2b3c4d5e6f"
GROUP_7B = "9d3e6b2a-1f4c-4a8e-b5d7-2c9f0e1a3b4d"  # Entra ID group object ids
GROUP_TEACHERS = "1a7c5e3b-8d2f-4b6a-9e0c-4f2d8b6a1c3e"
GROUP_GUARDIANS = "6e2b9d4f-3a1c-4e8b-a7d5-0c3f9e2b5a7d"
GROUP_CONSENT_ADMINS = "2c8f4a6e-0b1d-4e3f-a5c7-9d1b3f5a7c9e"
STRONG_ACR = "urn:vantaa:loa:substantial"  # an acr the city may list as multi-factor
ONNI_LEARNER_ID = "1.2.246.562.24.40912345678"

# scope -> claims oidc-provider may release (Google's hd, Entra ID's oid/tid/groups/roles and
# directory extensions ride along with openid, as those providers send them)
CLAIMS = {
    "openid": [
        "sub",
        "acr",  # how the person signed in (OIDC Core section 2), as Entra ID states it
        "amr",
        "hd",
        "oid",
        "tid",
        "groups",
        "roles",
        f"{EXT}_learnerId",
        f"{EXT}_schoolCode",
        f"{EXT}_children",
    ],
    "profile": ["name", "given_name", "family_name", "locale", "birthdate", "preferred_username"],
    "email": ["email", "email_verified"],
}
# Each account's "login" is what the provider states of the sign-in itself (amr, acr): the
# password alone unless it says otherwise.
ACCOUNTS = {
    # Google Workspace (Tampere): a pupil's and a teacher's account, and a private Gmail one
    "eetu": {
        "claims": {
            "hd": "edu.tampere.fi",
            "email": "eetu.lahtinen@edu.tampere.fi",
            "email_verified": True,
            "name": "Eetu Lahtinen",
            "given_name": "Eetu",
            "family_name": "Lahtinen",
            "locale": "fi",
        },
        "userinfo": {"birthdate": "2015-03-14"},  # only at userinfo (use_userinfo)
    },
    "hanna": {
        "claims": {
            "hd": "tampere.fi",
            "email": "hanna.virtanen@tampere.fi",
            "email_verified": True,
            "given_name": "Hanna",
            "family_name": "Virtanen",
            "locale": "en",
        },
    },
    "gmail": {
        "claims": {
            "email": "someone.else@gmail.com",
            "email_verified": True,
            "given_name": "Some",
            "family_name": "One",
        },
    },
    # Entra ID (Vantaa)
    "onni": {
        "claims": {
            "oid": "0a4f7c1e-5d2b-4e8a-9c3f-1b2d3e4f5a6b",
            "tid": TENANT,
            "given_name": "Onni",
            "family_name": "Korhonen",
            "preferred_username": "onni.korhonen@edu.vantaa.fi",
            "groups": [GROUP_7B, "00000000-0000-4000-8000-00000000abcd"],
            "roles": ["Learner"],
            f"{EXT}_learnerId": ONNI_LEARNER_ID,
            f"{EXT}_schoolCode": "03312",
        },
    },
    "maria": {
        "claims": {
            "oid": "3b8e1d6a-7c2f-4a9e-8b1d-5e6f7a8b9c0d",
            "tid": TENANT,
            "given_name": "Maria",
            "family_name": "Lindqvist",
            "preferred_username": "maria.lindqvist@vantaa.fi",
            "email": "maria.lindqvist@vantaa.fi",
            "groups": [GROUP_TEACHERS],
            "roles": ["Teacher"],
            f"{EXT}_schoolCode": "03312",
        },
    },
    "jukka": {
        "claims": {
            "oid": "7f2a4c6e-1b3d-4f5a-9c8e-2d4b6f8a0c1e",
            "tid": TENANT,
            "given_name": "Jukka",
            "family_name": "Korhonen",
            "preferred_username": "jukka.korhonen@huoltajat.vantaa.fi",
            "groups": [GROUP_GUARDIANS],
            "roles": ["Guardian"],
            f"{EXT}_children": [ONNI_LEARNER_ID],
        },
    },
    # Vantaa's consent administrators: Ritva signs in with Entra ID's multi-factor
    # authentication (amr pwd and mfa), Sari with a password at an acr the city may list
    "ritva": {
        "claims": {
            "oid": "4d6f8a0c-2e4b-4c6d-8f0a-3b5d7f9a1c3e",
            "tid": TENANT,
            "given_name": "Ritva",
            "family_name": "Salo",
            "preferred_username": "ritva.salo@vantaa.fi",
            "groups": [GROUP_CONSENT_ADMINS],
        },
        "login": {"amr": ["pwd", "mfa"]},
    },
    "sari": {
        "claims": {
            "oid": "8a0c2e4b-6d8f-4a1c-9e3b-5d7f9a1c3e5b",
            "tid": TENANT,
            "given_name": "Sari",
            "family_name": "Mäkelä",
            "preferred_username": "sari.makela@vantaa.fi",
            "groups": [GROUP_CONSENT_ADMINS],
        },
        "login": {"amr": ["pwd"], "acr": STRONG_ACR},
    },
}


def tampere_directory(issuer: str, **changes) -> dict:
    """Tampere as a Google Workspace city: Google's ID token has names, email and hd only."""
    directory = {
        "type": "oidc",
        "issuer": issuer,
        "client_id": "digione-tampere",
        "client_secret_env": SECRET_ENV,
        "scopes": ["openid", "profile", "email"],
        "authorize_params": {"hd": "edu.tampere.fi"},
        "required_claims": {"hd": ["edu.tampere.fi", "tampere.fi"]},
        "attributes": {
            "subject": "sub",
            "given_name": "given_name",
            "family_name": "family_name",
            "email": "email",
            "locale": "locale",
            "birthdate": "birthdate",
            "groups": "hd",
            "role_groups": {
                "edu.tampere.fi": {"role": "learner"},
                "tampere.fi": {"role": "teacher"},
            },
        },
    }
    return {**directory, **changes}


def vantaa_directory(issuer: str, **changes) -> dict:
    """Vantaa as an Entra ID city: groups (object ids) to roles, extension attributes."""
    directory = {
        "type": "oidc",
        "issuer": issuer,
        "client_id": "digione-vantaa",
        "client_secret_env": SECRET_ENV,
        "scopes": ["openid", "profile", "email"],
        "required_claims": {"tid": [TENANT]},
        "attributes": {
            "subject": "oid",
            "given_name": "given_name",
            "family_name": "family_name",
            "email": "preferred_username",
            "learner_id": f"{EXT}_learnerId",
            "school": f"{EXT}_schoolCode",
            "groups": "groups",
            "role_groups": {
                GROUP_7B: {"role": "learner", "group": "7B", "class_level": 7},
                GROUP_TEACHERS: {"role": "teacher"},
                GROUP_GUARDIANS: {"role": "guardian"},
                GROUP_CONSENT_ADMINS: {"role": "staff"},
            },
            "permission_groups": {GROUP_CONSENT_ADMINS: ["consent_admin"]},
            "children": f"{EXT}_children",
        },
    }
    return {**directory, **changes}


def city(slug: str, directory: dict) -> CitySettings:
    code = {"tampere": "837", "vantaa": "092"}[slug]
    name = {"fi": slug.title(), "sv": slug.title(), "en": slug.title()}
    return CitySettings.model_validate(
        {"slug": slug, "municipality_code": code, "name": name, "directory": directory}
    )


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"


def write_city(folder: Path, slug: str, directory: dict) -> None:
    """Replace ``cities/<slug>.toml``'s [directory] with ``directory``."""
    path = folder / "cities" / f"{slug}.toml"
    head = path.read_text().split("[directory]")[0]
    lines = [f"{key} = {_toml(value)}" for key, value in directory.items()]
    path.write_text(head + "[directory]\n" + "\n".join(lines) + "\n")
