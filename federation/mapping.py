"""One declarative attribute map per city turns what any directory says into the common identity
profile (after SATOSA's internal attributes: every protocol's connector hands over a plain
``{attribute: [values]}`` and this module alone knows the profile).

A city's TOML file carries the map under ``[directory.attributes]``; names are whatever the
directory uses (LDAP ``givenName``, SAML ``urn:oid:2.5.4.42``, OIDC ``given_name``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from core.settings.schema import Strict
from federation.profile import ROLES, Identity, RoleClaim

Role = Literal["learner", "teacher", "staff", "principal", "guardian"]
Permission = Literal["consent_admin", "auditor"]
TRUE = frozenset({"true", "1", "yes", "y", "on"})
LEARNER_ID = re.compile(r"^1\.2\.246\.562\.24\.[0-9]{11}$")


class MappingError(ValueError):
    """The directory's answer lacks what the map requires (the message names the attribute)."""


class RoleRule(Strict):
    """What membership of one group (or one attribute value) means."""

    role: Role
    school: Annotated[str, Field(pattern=r"^[0-9]{5}$")] | None = None
    group: str | None = None
    class_level: int | None = None


class AttributeMap(Strict):
    """Directory attribute names for each profile field (ARCHITECTURE.md)."""

    subject: str  # a stable, never reassigned identifier (objectGUID, entryUUID, NameID, sub)
    given_name: str = "givenName"
    family_name: str = "sn"
    birthdate: str | None = None
    learner_id: str | None = None
    email: str | None = None
    locale: str | None = None
    protected: str | None = None  # truthy value: protected identity (turvakielto)
    # MPASSid role strings "municipality;schoolCode;group;role" (urn:mpass.id:role)
    mpass_roles: str | None = None
    # Or: one school/group/class level per person, plus group memberships mapped to roles
    school: str | None = None
    group: str | None = None
    class_level: str | None = None
    groups: str | None = None
    role_groups: dict[str, RoleRule] = {}
    default_role: Role | None = None
    # The broker's own permissions by group membership (a value of ``groups``, compared without
    # case): "consent_admin" administers this city's consent records, "auditor" reads every
    # city's. Only the operator grants them, by naming the group here.
    permission_groups: dict[str, list[Permission]] = {}
    # Guardianship source: the learner ids of the person's children
    children: str | None = None

    @model_validator(mode="after")
    def _groups_named(self) -> AttributeMap:
        if (self.role_groups or self.permission_groups) and not self.groups:
            raise ValueError("role_groups and permission_groups need `groups`, the attribute "
                             "that holds the person's groups")  # fmt: skip
        return self


def _first(attrs: Mapping[str, Sequence[str]], name: str | None) -> str | None:
    if not name:
        return None
    values = attrs.get(name) or []
    return str(values[0]).strip() if values else None


def _all(attrs: Mapping[str, Sequence[str]], name: str | None) -> list[str]:
    return [str(v).strip() for v in (attrs.get(name) or [])] if name else []


def _birthdate(value: str | None) -> date | None:
    if not value:
        return None
    digits = value.replace("-", "")[:8]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError as exc:
        raise MappingError(f"birthdate: {value!r} is not a date") from exc


def _class_level(attrs, amap: AttributeMap) -> int | None:
    level = _first(attrs, amap.class_level)
    return int(level) if level and level.isdigit() else None


def _roles(attrs, amap: AttributeMap, municipality: str) -> list[RoleClaim]:
    """Roles from MPASSid role strings, group rules, or the default role; a pupil's class level
    comes from the directory's class level attribute unless a rule states one."""
    roles: list[RoleClaim] = []
    level = _class_level(attrs, amap)
    for value in _all(attrs, amap.mpass_roles):
        parts = [*value.split(";"), "", "", ""][:4]
        code, school, group, role = (part.strip() for part in parts)
        if role in ROLES and code == municipality:  # another city's role is not ours to state
            learner_level = level if role == "learner" else None
            roles.append(
                RoleClaim(role, municipality, school or None, group or None, learner_level)
            )
    memberships = {value.lower() for value in _all(attrs, amap.groups)}
    for name, rule in amap.role_groups.items():
        if name.lower() in memberships:
            roles.append(
                RoleClaim(
                    rule.role,
                    municipality,
                    rule.school or _first(attrs, amap.school),
                    rule.group or _first(attrs, amap.group),
                    rule.class_level or (level if rule.role == "learner" else None),
                )
            )
    if not roles and amap.default_role:
        roles.append(
            RoleClaim(
                amap.default_role,
                municipality,
                _first(attrs, amap.school),
                _first(attrs, amap.group),
                level if amap.default_role == "learner" else None,
            )
        )
    return list(dict.fromkeys(roles))


def _permissions(attrs, amap: AttributeMap) -> tuple[str, ...]:
    memberships = {value.lower() for value in _all(attrs, amap.groups)}
    granted = {
        permission
        for name, permissions in amap.permission_groups.items()
        if name.lower() in memberships
        for permission in permissions
    }
    return tuple(sorted(granted))


def map_identity(
    attrs: Mapping[str, Sequence[str]],
    amap: AttributeMap,
    *,
    city: str,
    municipality_code: str,
) -> Identity:
    """The profile the map reads out of ``attrs``; raises MappingError."""
    subject = _first(attrs, amap.subject)
    given, family = _first(attrs, amap.given_name), _first(attrs, amap.family_name)
    for field, value in (("subject", subject), ("given_name", given), ("family_name", family)):
        if not value:
            raise MappingError(f"{field}: the directory gave no {getattr(amap, field)!r}")
    learner_id = _first(attrs, amap.learner_id)
    if learner_id and not LEARNER_ID.match(learner_id):
        raise MappingError(f"learner_id: {learner_id!r} is not an oppijanumero")
    children = tuple(v for v in _all(attrs, amap.children) if LEARNER_ID.match(v))
    locale = (_first(attrs, amap.locale) or "fi")[:2].lower()
    return Identity(
        city=city,
        municipality_code=municipality_code,
        subject=subject,
        given_name=given,
        family_name=family,
        birthdate=_birthdate(_first(attrs, amap.birthdate)),
        learner_id=learner_id,
        email=_first(attrs, amap.email),
        locale=locale if locale in ("fi", "sv", "en") else "fi",
        protected=(_first(attrs, amap.protected) or "").lower() in TRUE,
        roles=tuple(_roles(attrs, amap, municipality_code)),
        children=children,
        permissions=_permissions(attrs, amap),
    )
