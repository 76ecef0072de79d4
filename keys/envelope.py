"""Encryption at rest of private signing keys under one master key.

A sealed blob is ``version (1 byte) || nonce (12 bytes) || AES-256-GCM ciphertext and tag``
(NIST SP 800-38D, 96-bit random nonce). The associated data names what the blob belongs to (the
key's use and kid), so a blob copied into another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from core.settings.schema import Settings

log = logging.getLogger("digione.keys")

VERSION = b"\x01"
NONCE_BYTES = 12
KEY_BYTES = 32
DEV_KEY_FILE = "master.key"
HOW_TO_MAKE = "make one with: openssl rand -base64 32"


class MasterKeyError(ValueError):
    """The master key is missing or malformed; the message never contains the key."""


class UnsealError(ValueError):
    """A sealed blob does not open: wrong master key, wrong associated data or tampered bytes."""


def decode_master_key(text: str) -> bytes:
    """Decode a master key given in base64 (RFC 4648 section 4 or the URL-safe alphabet of
    section 5, padded or not) and check that it is exactly 32 bytes."""
    value = "".join(text.split())
    if not value:
        raise MasterKeyError(f"is empty; {HOW_TO_MAKE}")
    standard = value.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"is not base64; {HOW_TO_MAKE}") from None
    if len(raw) != KEY_BYTES:
        raise MasterKeyError(
            f"must be {KEY_BYTES} bytes in base64, this is {len(raw)} bytes; {HOW_TO_MAKE}"
        )
    return raw


def master_key_problems(settings: Settings, source: str) -> list[str]:
    """The configuration check of ``master.key`` (core.settings.loader.Check): a key given in
    the settings must decode to 32 bytes."""
    if not settings.master.key:
        return []
    try:
        decode_master_key(settings.master.key)
    except MasterKeyError as exc:
        return [f"{source}: master.key: {exc}"]
    return []


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not readable text"
        raise MasterKeyError(f"{what}: cannot read {path}: {reason}") from None
    try:
        return decode_master_key(text)
    except MasterKeyError as exc:
        raise MasterKeyError(f"{what}: {path} {exc}") from None


def _development_key(path: Path) -> bytes:
    """Create ``path`` once (O_EXCL, mode 0600) with a random key; later calls read it back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be between creating and writing the file
            if path.stat().st_size:
                break
            time.sleep(0.02)
        if path.stat().st_mode & 0o077:
            log.warning(
                "development master key file is readable by others",
                extra={"event": {"path": str(path)}},
            )
        return _read_key_file(path, "development master key")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    log.info("generated a development master key", extra={"event": {"path": str(path)}})
    return _read_key_file(path, "development master key")


def load_master_key(settings: Settings, instance_dir: Path) -> bytes:
    """The master key: ``master.key``, else the file ``master.key_file``, else (development only)
    ``<instance_dir>/master.key``, generated on first use. Production never generates one."""
    if settings.master.key:
        try:
            return decode_master_key(settings.master.key)
        except MasterKeyError as exc:
            raise MasterKeyError(f"master.key: {exc}") from None
    if settings.master.key_file:
        return _read_key_file(Path(settings.master.key_file), "master.key_file")
    if settings.server.mode == "production":
        raise MasterKeyError(
            "master.key: production needs a master key (DIGIONE_MASTER_KEY or master.key_file); "
            "it is never generated"
        )
    return _development_key(Path(instance_dir) / DEV_KEY_FILE)


def seal(master: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` with AES-256-GCM under ``master``, authenticating ``aad``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return VERSION + nonce + AESGCM(master).encrypt(nonce, plaintext, VERSION + aad)


def unseal(master: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a blob made by :func:`seal`; raise UnsealError when it does not authenticate."""
    blob = bytes(blob)
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
        raise UnsealError("not a sealed key of a known version")
    nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(master).decrypt(nonce, ciphertext, VERSION + aad)
    except InvalidTag:
        raise UnsealError("the sealed key does not open with this master key") from None
