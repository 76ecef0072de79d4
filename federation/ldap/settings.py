"""``[directory]`` of a city whose people are in LDAP or Active Directory."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from core.settings.schema import DirectorySettings
from federation.mapping import AttributeMap


class LdapDirectorySettings(DirectorySettings):
    type: Literal["ldap"]
    # ldap://host:389 or ldaps://host:636; several for fail-over, tried in order.
    urls: Annotated[list[str], Field(min_length=1)]
    start_tls: bool = False
    ca_file: str | None = None  # verify the server's certificate against this CA (PEM)
    bind_dn: str  # the service account
    # The service account's password: from an environment variable or a file, never the TOML.
    bind_password_env: str | None = None
    bind_password_file: str | None = None
    base_dn: str
    # {username} is replaced by the escaped (RFC 4515) user name.
    user_filter: str = "(uid={username})"
    # Active Directory: userAccountControl's ACCOUNTDISABLE bit locks the account.
    active_directory: bool = False
    # OpenLDAP ppolicy: an account with this attribute set is locked.
    locked_attribute: str | None = "pwdAccountLockedTime"
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    pool_size: Annotated[int, Field(ge=1, le=50)] = 4
    attributes: AttributeMap
