"""The shape of DigiOne's configuration: defaults.toml, one file per city, the demo people.

Every model forbids unknown keys and checks types strictly, so a typo or a wrong type in a file
stops the broker with the file and the key named (see :mod:`core.settings.loader`).

A city's ``[directory]`` is not described here: each connector owns its settings type
(federation.ldap.settings, ...) and the composition root hands the loader the types it has
(:func:`core.settings.loader.city_model`), as dex's server knows its connectors and its
storage does not.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """The base of every settings model: unknown keys refused, types checked strictly,
    immutable once loaded."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ServerSettings(Strict):
    mode: Literal["development", "production"] = "development"
    issuer: str = "http://127.0.0.1:5000"
    secret_key: str = ""
    instance_dir: str = ""
    trusted_proxies: Annotated[int, Field(ge=0, le=5)] = 0


class DatabaseSettings(Strict):
    url: str = ""


class MasterSettings(Strict):
    key: str = ""
    key_file: str = ""


class KeysSettings(Strict):
    rotate_after_days: Annotated[int, Field(ge=0)] = 90
    retired_grace_days: Annotated[int, Field(ge=0)] = 14
    auto_rotate: bool = True


class SessionSettings(Strict):
    lifetime_minutes: Annotated[int, Field(gt=0)] = 480
    idle_minutes: Annotated[int, Field(gt=0)] = 120
    cookie_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")] = "digione_sso"


class LoginSettings(Strict):
    account_free_failures: Annotated[int, Field(ge=1)] = 5
    ip_free_failures: Annotated[int, Field(ge=1)] = 50
    window_minutes: Annotated[int, Field(gt=0)] = 15
    max_delay_seconds: Annotated[int, Field(ge=1)] = 300


class PasswordSettings(Strict):
    """argon2id parameters (RFC 9106) of the embedded directory; changes rehash at next sign-in."""

    time_cost: Annotated[int, Field(ge=1, le=20)] = 3
    memory_kib: Annotated[int, Field(ge=1024, le=4 * 1024 * 1024)] = 64 * 1024
    parallelism: Annotated[int, Field(ge=1, le=16)] = 2


class OidcSettings(Strict):
    """The OpenID Connect provider (idp/oidc): lifetimes and pairwise subjects."""

    code_seconds: Annotated[int, Field(ge=10, le=600)] = 60
    access_token_seconds: Annotated[int, Field(ge=30, le=3600)] = 300
    id_token_seconds: Annotated[int, Field(ge=30, le=3600)] = 300
    refresh_token_days: Annotated[int, Field(ge=1, le=365)] = 30
    # Keys the pairwise subject identifiers (OIDC Core 8.1). Changing it changes every pairwise
    # ``sub``. Empty in development: generated into the instance folder.
    pairwise_secret: str = ""
    # Dynamic client registration (RFC 7591) for holders of an initial access token.
    registration: bool = True
    # How long a client read from the database is used before it is checked again: a change
    # made by another process (the CLI, another worker) takes effect within this time.
    client_cache_seconds: Annotated[float, Field(ge=0, le=60)] = 2


class DemoSettings(Strict):
    enabled: bool = True


class LoggingSettings(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


Locale = Literal["fi", "sv", "en"]


class UiSettings(Strict):
    default_locale: Locale = "fi"


class AuditSettings(Strict):
    checkpoint_seconds: Annotated[int, Field(ge=0, le=86400)] = 60
    witness_file: str = "audit-witness.jsonl"


class AdminSettings(Strict):
    max_age_seconds: Annotated[int, Field(ge=60, le=86400)] = 900
    second_factor: Literal["required", "off"] = "required"


class Settings(Strict):
    """defaults.toml; each section may be overridden by DIGIONE_<SECTION>_<KEY>."""

    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    master: MasterSettings = MasterSettings()
    keys: KeysSettings = KeysSettings()
    session: SessionSettings = SessionSettings()
    login: LoginSettings = LoginSettings()
    passwords: PasswordSettings = PasswordSettings()
    oidc: OidcSettings = OidcSettings()
    demo: DemoSettings = DemoSettings()
    logging: LoggingSettings = LoggingSettings()
    ui: UiSettings = UiSettings()
    audit: AuditSettings = AuditSettings()
    admin: AdminSettings = AdminSettings()


class LocalizedName(Strict):
    fi: Annotated[str, Field(min_length=1)]
    sv: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class DirectorySettings(Strict):
    """What every connector's ``[directory]`` settings have: the ``type`` that picks the
    connector. The connectors' own models extend it."""

    type: str


class CitySettings(Strict):
    """config/cities/<slug>.toml; the loader validates ``directory`` as one of the connector
    types it was handed (a model derived by :func:`core.settings.loader.city_model`)."""

    slug: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")]
    municipality_code: Annotated[str, Field(pattern=r"^[0-9]{3}$")]
    name: LocalizedName
    email_domains: list[str] = []
    # acr values of the city's directory that stand for a multi-factor sign-in (e.g. strong
    # electronic identification): a sign-in with one needs no second factor at the broker.
    second_factor_acr: list[str] = []
    directory: DirectorySettings


Role = Literal["learner", "teacher", "staff", "principal", "guardian"]


class DemoRole(Strict):
    role: Role
    school: Annotated[str, Field(pattern=r"^[0-9]{5}$")] | None = None
    group: str | None = None
    class_level: Annotated[int, Field(ge=0, le=13)] | None = None


class DemoSchool(Strict):
    code: Annotated[str, Field(pattern=r"^[0-9]{5}$")]
    name: str
    name_sv: str | None = None


class DemoPerson(Strict):
    username: Annotated[str, Field(pattern=r"^[a-z0-9._-]{1,64}$")]
    given_name: str
    family_name: str
    age: Annotated[int, Field(ge=0, le=120)]
    birthday: Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    learner_id: Annotated[str, Field(pattern=r"^1\.2\.246\.562\.24\.[0-9]{11}$")] | None = None
    email: str | None = None
    locale: Locale = "fi"
    protected: bool = False
    children: list[str] = []
    permissions: list[Literal["consent_admin", "auditor"]] = []
    roles: list[DemoRole] = []


class DemoDirectory(Strict):
    """config/demo/<slug>.toml: the people of one city's embedded directory in demo mode."""

    schools: list[DemoSchool] = []
    people: list[DemoPerson] = []
