"""The LDAP / Active Directory connector (ldap3): find the person with the service account,
check the password by binding as them, read their attributes, map them to the profile.

User names are escaped into the search filter (RFC 4515 section 3), so an injection attempt
such as ``*)(uid=*`` finds nobody. An empty password is refused before any bind (an LDAP
"unauthenticated bind" would otherwise succeed, RFC 4513 section 5.1.2).
"""

from __future__ import annotations

import logging
import math
import os
import ssl
from pathlib import Path

from ldap3 import FIRST, Connection, Server, ServerPool, Tls
from ldap3.core.exceptions import LDAPException, LDAPSocketOpenError
from ldap3.utils.conv import escape_filter_chars

from core.settings.schema import CitySettings
from federation.connector import AccountLocked, DirectoryUnavailable, Environment
from federation.ldap.settings import LdapDirectorySettings
from federation.mapping import AttributeMap, MappingError, map_identity
from federation.profile import Identity

log = logging.getLogger("digione.ldap")
ACCOUNTDISABLE, LOCKOUT = 0x0002, 0x0010  # userAccountControl flags (MS-ADTS 2.2.16)


def _wanted(amap: AttributeMap, cfg: LdapDirectorySettings) -> list[str]:
    names = {
        amap.subject, amap.given_name, amap.family_name, amap.birthdate, amap.learner_id,
        amap.email, amap.locale, amap.protected, amap.mpass_roles, amap.school, amap.group,
        amap.class_level, amap.groups, amap.children,
        "userAccountControl" if cfg.active_directory else cfg.locked_attribute,
    }  # fmt: skip
    return sorted(name for name in names if name)


def _password(cfg: LdapDirectorySettings) -> str:
    if cfg.bind_password_env:
        value = os.environ.get(cfg.bind_password_env)
        if value:
            return value
    if cfg.bind_password_file:
        try:
            return Path(cfg.bind_password_file).read_text().strip()
        except OSError as exc:
            raise DirectoryUnavailable("service account password file unreadable") from exc
    raise DirectoryUnavailable("no service account password configured")


class LdapDirectory:
    """A PasswordConnector over one city's LDAP or Active Directory."""

    def __init__(self, city: CitySettings):
        self.city = city
        self.cfg: LdapDirectorySettings = city.directory  # type: ignore[assignment]

    @classmethod
    def open(cls, city: CitySettings, env: Environment) -> LdapDirectory:
        return cls(city)

    def _pool(self) -> ServerPool:
        tls = None
        if (
            self.cfg.ca_file
            or self.cfg.start_tls
            or any(url.startswith("ldaps://") for url in self.cfg.urls)
        ):
            tls = Tls(
                ca_certs_file=self.cfg.ca_file,
                validate=ssl.CERT_REQUIRED,
                version=ssl.PROTOCOL_TLS_CLIENT,
            )
        servers = [
            Server(url, tls=tls, connect_timeout=self.cfg.timeout_seconds, get_info="NO_INFO")
            for url in self.cfg.urls
        ]
        return ServerPool(servers, FIRST, active=1, exhaust=True)

    def _connect(self, user: str, password: str) -> Connection:
        connection = Connection(
            self._pool(),
            user=user,
            password=password,
            receive_timeout=math.ceil(self.cfg.timeout_seconds),  # ldap3 packs it as an int
            raise_exceptions=False,
            read_only=True,
        )
        if self.cfg.start_tls:
            connection.open()
            if not connection.start_tls():
                raise DirectoryUnavailable("StartTLS refused")
        return connection

    def _find(self, username: str) -> tuple[str, dict] | None:
        service = self._connect(self.cfg.bind_dn, _password(self.cfg))
        try:
            if not service.bind():
                raise DirectoryUnavailable(
                    f"service account bind refused: {service.result['description']}"
                )
            query = self.cfg.user_filter.format(username=escape_filter_chars(username))
            service.search(
                self.cfg.base_dn,
                query,
                attributes=_wanted(self.cfg.attributes, self.cfg),
                size_limit=2,
                time_limit=int(self.cfg.timeout_seconds),
            )
            entries = [e for e in service.response or [] if e.get("type") == "searchResEntry"]
        finally:
            service.unbind()
        if len(entries) != 1:
            if len(entries) > 1:
                log.warning("ambiguous user search", extra={"event": {"city": self.city.slug}})
            return None
        entry = entries[0]
        attrs = {
            name: [str(v) for v in (value if isinstance(value, list) else [value])]
            for name, value in entry["attributes"].items()
            if value not in (None, [], "")
        }
        return entry["dn"], attrs

    def _locked(self, attrs: dict) -> bool:
        if self.cfg.active_directory:
            flags = int((attrs.get("userAccountControl") or ["0"])[0])
            return bool(flags & (ACCOUNTDISABLE | LOCKOUT))
        values = attrs.get(self.cfg.locked_attribute or "", [])
        return any(v and v.upper() not in ("0", "FALSE") for v in values)

    def authenticate(self, username: str, password: str) -> Identity | None:
        username = username.strip()
        if not username or not password:
            return None
        try:
            found = self._find(username)
            dn, attrs = found if found else ("cn=nobody," + self.cfg.base_dn, {})
            user = self._connect(dn, password)
            ok = user.bind() and found is not None  # an unknown user costs a bind too
            user.unbind()
        except (LDAPSocketOpenError, LDAPException, OSError) as exc:
            raise DirectoryUnavailable(type(exc).__name__) from exc
        if not ok:
            return None
        if self._locked(attrs):
            raise AccountLocked(self.city.slug)
        try:
            return map_identity(
                attrs,
                self.cfg.attributes,
                city=self.city.slug,
                municipality_code=self.city.municipality_code,
            )
        except MappingError as exc:
            log.warning(
                "directory entry not usable",
                extra={"event": {"city": self.city.slug, "reason": str(exc)}},
            )
            return None
