"""A real OpenLDAP slapd for the tests: five cities' directories, one of them shaped like Active
Directory, with plain LDAP, LDAPS and StartTLS on loopback ports, started and stopped at will."""

from __future__ import annotations

import datetime
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import free_port

SLAPD, SLAPADD = "/usr/sbin/slapd", "/usr/sbin/slapadd"
SERVICE_PASSWORD = "service-secret"
ARC = "2.25.123456789012345678901234567890"  # a test-only OID arc (ITU-T X.667 UUID arc)
CUSTOM_ATTRIBUTES = [  # (name, single-valued); Active Directory's names where AD has them
    ("sAMAccountName", True), ("userPrincipalName", True), ("userAccountControl", True),
    ("objectGUID", True), ("memberOf", False), ("learnerId", True), ("schoolCode", True),
    ("schoolClass", True), ("classLevel", True), ("mpassRole", False), ("childLearnerId", False),
    ("turvakielto", True), ("accountLocked", True), ("birthDate", True),
]  # fmt: skip


def available() -> bool:
    return bool(shutil.which(SLAPD) and shutil.which(SLAPADD))


def _schema() -> str:
    lines = ["dn: cn=digionetest,cn=schema,cn=config", "objectClass: olcSchemaConfig",
             "cn: digionetest"]  # fmt: skip
    names = []
    for index, (name, single) in enumerate(CUSTOM_ATTRIBUTES, start=1):
        names.append(name)
        lines.append(
            f"olcAttributeTypes: ( {ARC}.1.{index} NAME '{name}' EQUALITY caseIgnoreMatch "
            f"SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15"
            f"{' SINGLE-VALUE' if single else ''} )"
        )
    lines.append(
        f"olcObjectClasses: ( {ARC}.2.1 NAME 'digioneTestPerson' SUP top AUXILIARY "
        f"MAY ( {' $ '.join(names)} ) )"
    )
    return "\n".join(lines)


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost, valid for a day."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DigiOne test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


@dataclass
class Slapd:
    folder: Path
    suffixes: dict[str, str]  # city -> suffix
    ldap_port: int = 0
    ldaps_port: int = 0
    ca_file: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def ldap_url(self) -> str:
        return f"ldap://127.0.0.1:{self.ldap_port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    def service_dn(self, city: str) -> str:
        return f"cn=digione,ou=services,{self.suffixes[city]}"

    def _config(self) -> str:
        ca, cert, key = _certificates(self.folder)
        self.ca_file = ca
        blocks = [
            "\n".join([
                "dn: cn=config", "objectClass: olcGlobal", "cn: config",
                f"olcPidFile: {self.folder}/slapd.pid", f"olcTLSCACertificateFile: {ca}",
                f"olcTLSCertificateFile: {cert}", f"olcTLSCertificateKeyFile: {key}",
            ]),
            "\n".join([
                "dn: cn=module{0},cn=config", "objectClass: olcModuleList", "cn: module{0}",
                "olcModulePath: /usr/lib/ldap", "olcModuleLoad: back_mdb",
            ]),
            "dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema",
        ]  # fmt: skip
        for name in ("core", "cosine", "inetorgperson", "nis"):
            blocks.append(Path(f"/etc/ldap/schema/{name}.ldif").read_text().strip())
        blocks.append(_schema())
        blocks.append(
            "dn: olcDatabase={-1}frontend,cn=config\nobjectClass: olcDatabaseConfig\n"
            "objectClass: olcFrontendConfig\nolcDatabase: {-1}frontend"
        )
        blocks.append(
            "dn: olcDatabase={0}config,cn=config\nobjectClass: olcDatabaseConfig\n"
            "olcDatabase: {0}config\nolcAccess: {0}to * by * none"
        )
        for index, (city, suffix) in enumerate(self.suffixes.items(), start=1):
            directory = self.folder / city
            directory.mkdir()
            blocks.append("\n".join([
                f"dn: olcDatabase={{{index}}}mdb,cn=config", "objectClass: olcDatabaseConfig",
                "objectClass: olcMdbConfig", f"olcDatabase: {{{index}}}mdb",
                f"olcSuffix: {suffix}", f"olcDbDirectory: {directory}",
                f"olcRootDN: cn=admin,{suffix}", "olcRootPW: admin-secret",
                "olcDbMaxSize: 8388608",
                "olcAccess: {0}to attrs=userPassword by self read by anonymous auth by * none",
                f"olcAccess: {{1}}to * by dn.exact=\"{self.service_dn(city)}\" read"
                " by self read by * none",
            ]))  # fmt: skip
        return "\n\n".join(blocks) + "\n"

    def load(self, trees: dict[str, str]) -> None:
        """Write the configuration and each city's LDIF tree with slapadd (server stopped)."""
        confdir = self.folder / "slapd.d"
        confdir.mkdir()
        config = self.folder / "config.ldif"
        config.write_text(self._config())
        subprocess.run([SLAPADD, "-n0", "-F", str(confdir), "-l", str(config)], check=True,
                       capture_output=True)  # fmt: skip
        for index, city in enumerate(self.suffixes, start=1):
            ldif = self.folder / f"{city}.ldif"
            ldif.write_text(trees[city])
            subprocess.run([SLAPADD, f"-n{index}", "-F", str(confdir), "-l", str(ldif)],
                           check=True, capture_output=True)  # fmt: skip

    def start(self, attempts: int = 3) -> None:
        """Start slapd and wait for its port. A port picked free can be taken again before
        slapd binds it (slapd then exits at once, silently at -d 0): pick new ones and retry."""
        chosen = not self.ldap_port and not self.ldaps_port
        for attempt in range(attempts):
            if chosen and attempt:
                self.ldap_port = self.ldaps_port = 0
            try:
                return self._start_once()
            except RuntimeError:
                if not chosen or attempt == attempts - 1:
                    raise

    def _start_once(self) -> None:
        self.ldap_port = self.ldap_port or free_port()
        self.ldaps_port = self.ldaps_port or free_port()
        urls = f"{self.ldap_url}/ {self.ldaps_url}/"
        self.process = subprocess.Popen(
            [SLAPD, "-d", "0", "-F", str(self.folder / "slapd.d"), "-h", urls],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.ldap_port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    output = self.process.stdout.read().decode(errors="replace")
                    raise RuntimeError(
                        f"slapd exited ({self.process.returncode}): {output}"
                    ) from None
                time.sleep(0.05)
        raise RuntimeError("slapd did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
