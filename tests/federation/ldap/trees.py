"""The five cities' directory trees as LDIF, and the matching [directory] settings.

Espoo is shaped like Active Directory (sAMAccountName, userPrincipalName, objectGUID,
memberOf groups, userAccountControl); the others like OpenLDAP school directories (uid,
entryUUID, MPASSid role strings). Every tree holds pupil1, teacher1, guardian1 (pupil1's
guardian), locked1 and protected1; Espoo and Vantaa also hold ``mover``, one pupil with one
learner id who has moved from Vantaa to Espoo. The password of every account is ``salasana``.
"""

from __future__ import annotations

import uuid

PASSWORD = "salasana"
MOVER_LEARNER_ID = "1.2.246.562.24.77777777777"
CITIES = {  # slug: (suffix, municipality code, school code, number)
    "espoo": ("DC=espoo,DC=fi", "049", "03215", 1),
    "oulu": ("dc=ouka,dc=fi", "564", "06311", 2),
    "tampere": ("dc=tampere,dc=fi", "837", "03872", 3),
    "turku": ("dc=turku,dc=fi", "853", "04417", 4),
    "vantaa": ("dc=vantaa,dc=fi", "092", "03628", 5),
}
AD_GROUPS = {"Oppilaat": "learner", "Opettajat": "teacher", "Huoltajat": "guardian"}


def learner_id(slug: str, n: int) -> str:
    return f"1.2.246.562.24.{CITIES[slug][3]}{n:010d}"


def _entry(dn: str, lines: list[str]) -> str:
    return "\n".join([f"dn: {dn}", *lines]) + "\n"


def _people(slug: str) -> list[dict]:
    _suffix, _code, _school, _n = CITIES[slug]
    people = [
        {"uid": "pupil1", "given": "Pupu", "sn": "Oppilas", "role": "learner", "class": "4B",
         "level": "4", "learner": learner_id(slug, 1), "birth": "2016-05-04"},
        {"uid": "teacher1", "given": "Ope", "sn": "Opettaja", "role": "teacher", "class": "4B",
         "mail": f"ope.opettaja@{slug}.test"},
        {"uid": "guardian1", "given": "Hilkka", "sn": "Huoltaja", "role": "guardian",
         "children": [learner_id(slug, 1)], "mail": f"hilkka@{slug}.test"},
        {"uid": "locked1", "given": "Lukittu", "sn": "Tili", "role": "learner", "locked": True,
         "learner": learner_id(slug, 2)},
        {"uid": "protected1", "given": "Suojattu", "sn": "Henkilö", "role": "learner",
         "protected": True, "mail": f"suojattu@{slug}.test", "learner": learner_id(slug, 3)},
    ]  # fmt: skip
    if slug in ("espoo", "vantaa"):
        people.append({"uid": "mover", "given": "Muuttaja", "sn": "Liikkuva", "role": "learner",
                       "class": "6A" if slug == "espoo" else "5A", "level": "6",
                       "learner": MOVER_LEARNER_ID})  # fmt: skip
    return people


def tree(slug: str) -> str:
    suffix, code, school, _n = CITIES[slug]
    ad = slug == "espoo"
    ou = "OU" if ad else "ou"
    dc = suffix.split(",")[0].split("=")[1]
    entries = [
        _entry(suffix, ["objectClass: dcObject", "objectClass: organization", f"dc: {dc}",
                        f"o: {slug}"]),
        _entry(f"{ou}=services,{suffix}", ["objectClass: organizationalUnit", "ou: services"]),
        _entry(f"cn=digione,{ou}=services,{suffix}", [
            "objectClass: organizationalRole", "objectClass: simpleSecurityObject",
            "cn: digione", "userPassword: service-secret"]),
        _entry(f"{ou}=people,{suffix}", ["objectClass: organizationalUnit", "ou: people"]),
    ]  # fmt: skip
    if ad:
        entries.append(_entry(f"OU=Groups,{suffix}", ["objectClass: organizationalUnit",
                                                     "ou: Groups"]))  # fmt: skip
    for person in _people(slug):
        uid = person["uid"]
        lines = ["objectClass: inetOrgPerson", "objectClass: digioneTestPerson",
                 f"cn: {person['given']} {person['sn']}", f"sn: {person['sn']}",
                 f"givenName: {person['given']}", f"userPassword: {PASSWORD}"]  # fmt: skip
        if ad:
            rdn = f"CN={person['given']} {person['sn']}"
            flags = 514 if person.get("locked") else 512
            group = next(name for name, role in AD_GROUPS.items() if role == person["role"])
            lines += [f"sAMAccountName: {uid}", f"userPrincipalName: {uid}@edu.espoo.fi",
                      f"objectGUID: {uuid.uuid5(uuid.NAMESPACE_DNS, uid + '.espoo')}",
                      f"userAccountControl: {flags}", f"memberOf: CN={group},OU=Groups,{suffix}",
                      f"schoolCode: {school}"]  # fmt: skip
            if person.get("class"):
                lines.append(f"schoolClass: {person['class']}")
        else:
            rdn = f"uid={uid}"
            lines.append(f"uid: {uid}")
            lines.append(f"mpassRole: {code};{school};{person.get('class', '')};{person['role']}")
            if person.get("locked"):
                lines.append("accountLocked: TRUE")
        for key, attribute in (("learner", "learnerId"), ("mail", "mail"),
                               ("birth", "birthDate"), ("level", "classLevel")):  # fmt: skip
            if person.get(key):
                lines.append(f"{attribute}: {person[key]}")
        lines += [f"childLearnerId: {child}" for child in person.get("children", [])]
        if person.get("protected"):
            lines.append("turvakielto: TRUE")
        entries.append(_entry(f"{rdn},{ou}=people,{suffix}", lines))
    return "\n".join(entries)


def directory_settings(slug: str, urls: list[str], **extra) -> dict:
    """The [directory] table of a city using this tree (as TOML would give it)."""
    suffix, _code, _school, _n = CITIES[slug]
    common = {
        "type": "ldap",
        "urls": urls,
        "bind_dn": f"cn=digione,{'OU' if slug == 'espoo' else 'ou'}=services,{suffix}",
        "bind_password_env": "DIGIONE_TEST_LDAP_PASSWORD",
        "base_dn": suffix,
        "timeout_seconds": 2.0,
    }
    if slug == "espoo":
        common.update(
            user_filter="(|(sAMAccountName={username})(userPrincipalName={username}))",
            active_directory=True,
            attributes={
                "subject": "objectGUID", "learner_id": "learnerId", "email": "mail",
                "birthdate": "birthDate", "protected": "turvakielto", "school": "schoolCode",
                "group": "schoolClass", "class_level": "classLevel", "groups": "memberOf",
                "children": "childLearnerId",
                "role_groups": {f"CN={name},OU=Groups,{suffix}": {"role": role}
                                for name, role in AD_GROUPS.items()},
            },
        )  # fmt: skip
    else:
        common.update(
            user_filter="(uid={username})",
            locked_attribute="accountLocked",
            attributes={
                "subject": "entryUUID", "learner_id": "learnerId", "email": "mail",
                "birthdate": "birthDate", "protected": "turvakielto", "mpass_roles": "mpassRole",
                "class_level": "classLevel", "children": "childLearnerId",
            },
        )  # fmt: skip
    common.update(extra)
    return common
