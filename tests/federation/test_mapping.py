"""The attribute map (federation.mapping) without a directory: the broker's permissions from
the groups the city's file names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from federation.mapping import AttributeMap, map_identity

ADMINS = "CN=DigiOne-Consent-Admins,OU=Groups,DC=edu,DC=espoo,DC=fi"
AUDITORS = "CN=DigiOne-Auditors,OU=Groups,DC=edu,DC=espoo,DC=fi"


def mapped(groups: list[str], **changes):
    amap = AttributeMap.model_validate(
        {
            "subject": "entryUUID",
            "groups": "memberOf",
            "permission_groups": {ADMINS: ["consent_admin"], AUDITORS: ["auditor"]},
            **changes,
        }
    )
    attrs = {"entryUUID": ["3f1c"], "givenName": ["Pia"], "sn": ["Nieminen"], "memberOf": groups}
    return map_identity(attrs, amap, city="espoo", municipality_code="049")


def test_a_group_the_city_names_grants_its_permissions():
    assert mapped([ADMINS]).permissions == ("consent_admin",)
    assert mapped([AUDITORS.lower(), ADMINS.upper()]).permissions == ("auditor", "consent_admin")


def test_no_named_group_grants_nothing():
    assert mapped(["CN=Opettajat,OU=Groups,DC=edu,DC=espoo,DC=fi"]).permissions == ()
    assert mapped([]).permissions == ()


@pytest.mark.parametrize("key", ["permission_groups", "role_groups"])
def test_group_rules_without_the_groups_attribute_are_refused(key):
    rule = ["consent_admin"] if key == "permission_groups" else {"role": "teacher"}
    with pytest.raises(ValidationError, match="need `groups`"):
        AttributeMap.model_validate({"subject": "entryUUID", key: {ADMINS: rule}})


def test_only_the_brokers_permissions_can_be_granted():
    with pytest.raises(ValidationError):
        mapped([ADMINS], permission_groups={ADMINS: ["superuser"]})
