"""The common identity profile: what any city directory says about a person, in one shape.

Names follow MPASSid (see shared/design/ARCHITECTURE.md). Connectors produce an ``Identity``;
idp/ and consent/ only ever see Person rows made from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

ROLES = ("learner", "teacher", "staff", "principal", "guardian")


@dataclass(frozen=True)
class RoleClaim:
    """One role at one place: MPASSid's "municipality;schoolCode;group;role"."""

    role: str
    municipality_code: str
    school_code: str | None = None
    group: str | None = None
    class_level: int | None = None
    school_name: str | None = None  # when the directory states it

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")


@dataclass(frozen=True)
class Identity:
    """A person as one city's directory states them at sign-in."""

    city: str
    municipality_code: str
    subject: str  # the directory's stable identifier of this account
    given_name: str
    family_name: str
    birthdate: date | None = None
    learner_id: str | None = None  # oppijanumero, 1.2.246.562.24.<11 digits>
    email: str | None = None
    locale: str = "fi"
    protected: bool = False  # turvakielto: no contact data released, no third-party sharing
    roles: tuple[RoleClaim, ...] = ()
    children: tuple[str, ...] = field(default=())  # learner ids of the person's wards
    permissions: tuple[str, ...] = ()  # broker permissions in this city, e.g. consent_admin
    # How the directory says this sign-in was made: its acr (OIDC) or AuthnContextClassRef
    # (SAML), and its amr (RFC 8176); the broker asks no second factor of a multi-factor one.
    authn_acr: str | None = None
    authn_amr: tuple[str, ...] = ()


def identity_to_dict(identity: Identity) -> dict:
    """A JSON-safe form of an Identity (to park a sign-in between two requests)."""
    data = asdict(identity)
    data["birthdate"] = identity.birthdate.isoformat() if identity.birthdate else None
    return data


def identity_from_dict(data: dict) -> Identity:
    values = dict(data)
    values["birthdate"] = date.fromisoformat(data["birthdate"]) if data.get("birthdate") else None
    values["roles"] = tuple(RoleClaim(**role) for role in data.get("roles", ()))
    values["children"] = tuple(data.get("children", ()))
    values["permissions"] = tuple(data.get("permissions", ()))
    values["authn_amr"] = tuple(data.get("authn_amr", ()))
    return Identity(**values)
