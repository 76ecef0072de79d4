"""The ``[directory]`` settings type of every connector, for the composition root to hand to
the configuration loader (core.settings.loader.city_model). A new connector adds its type here
and its factory in federation.connector."""

from __future__ import annotations

from core.settings.schema import DirectorySettings
from federation.embedded.settings import EmbeddedDirectorySettings
from federation.ldap.settings import LdapDirectorySettings
from federation.oidc.settings import OidcDirectorySettings
from federation.saml.settings import SamlDirectorySettings

DIRECTORY_SETTINGS: tuple[type[DirectorySettings], ...] = (
    EmbeddedDirectorySettings,
    LdapDirectorySettings,
    SamlDirectorySettings,
    OidcDirectorySettings,
)
