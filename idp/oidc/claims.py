"""Which claims a scope releases (OpenID Connect Core 5.4, 5.5) and the education scopes.

The education claims map the common identity profile (ARCHITECTURE.md); their names are listed
in docs/connect-your-service.md. A protected person's (turvakielto) contact claims are never
released, whatever the scope or the ``claims`` request asks.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from federation.models import CityIdentity, Guardianship, Person, RoleAssignment, School
from idp.oidc.models import Client
from idp.oidc.pairwise import remember
from idp.oidc.subject import subject_for

SCOPE_CLAIMS = {
    "profile": ("name", "given_name", "family_name", "birthdate", "locale"),
    "email": ("email", "email_verified"),
    "edu:school": ("edu_schools",),
    "edu:roles": ("edu_roles",),
    "edu:municipality": ("edu_municipalities",),
    "edu:learner_id": ("learner_id",),
    "edu:children": ("edu_children",),
}
CONTACT_CLAIMS = frozenset({"email", "email_verified", "phone_number", "address"})
SUPPORTED_CLAIMS = sorted(
    {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid"}
    | {claim for claims in SCOPE_CLAIMS.values() for claim in claims}
)


def _roles(session: Session, person: Person) -> list[tuple[CityIdentity, RoleAssignment]]:
    rows = session.execute(
        select(CityIdentity, RoleAssignment)
        .join(RoleAssignment, RoleAssignment.identity_id == CityIdentity.id)
        .where(CityIdentity.person_id == person.id)
        .order_by(CityIdentity.city, RoleAssignment.id)
    ).all()
    return [(identity, role) for identity, role in rows]


def _all_claims(session: Session, person: Person, municipality_names: dict[str, str]) -> dict:
    roles = _roles(session, person)
    schools = {role.school_code for _, role in roles if role.school_code}
    names = (
        {
            school.code: school.name
            for school in session.scalars(select(School).where(School.code.in_(schools)))
        }
        if schools
        else {}
    )
    codes = sorted(
        {identity.municipality_code for identity, _ in roles}
        | {identity.municipality_code for identity in person.identities}
    )
    claims = {
        "name": f"{person.given_name} {person.family_name}",
        "given_name": person.given_name,
        "family_name": person.family_name,
        "birthdate": person.birthdate.isoformat() if person.birthdate else None,
        "locale": person.locale,
        "email": person.email,
        "email_verified": True if person.email else None,  # stated by the city's directory
        "learner_id": person.learner_id,
        "edu_roles": [
            {
                "role": role.role,
                "municipality_code": identity.municipality_code,
                "school_code": role.school_code,
                "group": role.group,
            }
            for identity, role in roles
        ],
        "edu_schools": [
            {
                "school_code": role.school_code,
                "school_name": names.get(role.school_code),
                "municipality_code": identity.municipality_code,
                "group": role.group,
                "class_level": role.class_level,
            }
            for identity, role in roles
            if role.school_code and role.role in ("learner", "teacher", "principal", "staff")
        ],
        "edu_municipalities": [
            {"municipality_code": code, "name": municipality_names.get(code, code)}
            for code in codes
        ],
    }
    if person.protected:
        for claim in CONTACT_CLAIMS:
            claims.pop(claim, None)
    return claims


def children_of(session: Session, person: Person, client: Client, secret: bytes) -> list[dict]:
    """``edu_children``: each child in ``person``'s custody now, as ``client`` knows the child:
    its ``sub`` for that client (remembered, so that the consent API finds the child by it
    before the child has ever signed in there) and its given name, left out for a protected
    child. A guardian-facing service can then ask consent for each child at once."""
    children = session.scalars(
        select(Person)
        .join(Guardianship, Guardianship.child_id == Person.id)
        .where(Guardianship.guardian_id == person.id, Guardianship.ended_at.is_(None))
        .distinct()
        .order_by(Person.id)
    ).all()
    released = []
    for child in children:
        remember(session, child.id, client, secret)
        entry = {"sub": subject_for(child.id, client.client_metadata, client.client_id, secret)}
        if not child.protected:
            entry["given_name"] = child.given_name
        released.append(entry)
    return released


def claims_for(
    session: Session,
    person: Person,
    scopes: list[str],
    *,
    only: set[str] | None = None,
    municipality_names: dict[str, str] | None = None,
    client: Client | None = None,
    secret: bytes | None = None,
) -> dict:
    """The claims the granted ``scopes`` release for ``person`` (Core 5.4), limited to ``only``
    when given (the ``claims`` parameter's members for one target, Core 5.5). A claim no granted
    scope covers is never released. Empty values are left out (Core 5.3.2). ``client`` and its
    pairwise ``secret``: for the claims that name other people as the client knows them."""
    allowed = {claim for scope in scopes for claim in SCOPE_CLAIMS.get(scope, ())}
    if only is not None:
        allowed &= only
    if not allowed:
        return {}
    values = _all_claims(session, person, municipality_names or {})
    if "edu_children" in allowed and client is not None and secret is not None:
        values["edu_children"] = children_of(session, person, client, secret)
    return {
        claim: values[claim]
        for claim in sorted(allowed)
        if claim in values and values[claim] not in (None, [], "")
    }
