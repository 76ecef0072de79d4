"""Sealing private keys at rest (AES-256-GCM) and reading the master key."""

from __future__ import annotations

import base64
import os
import secrets
import stat

import pytest

from core.settings.schema import MasterSettings, ServerSettings, Settings
from keys.envelope import (
    MasterKeyError,
    UnsealError,
    decode_master_key,
    load_master_key,
    seal,
    unseal,
)

MASTER = secrets.token_bytes(32)
AAD = b"digione/signing_keys/rs256/kid-1"


def test_round_trip_with_a_fresh_nonce_each_time():
    one, two = seal(MASTER, b"private", AAD), seal(MASTER, b"private", AAD)
    assert one != two
    assert b"private" not in one
    assert unseal(MASTER, one, AAD) == unseal(MASTER, two, AAD) == b"private"


def test_wrong_aad_fails():
    blob = seal(MASTER, b"private", AAD)
    with pytest.raises(UnsealError):
        unseal(MASTER, blob, b"digione/signing_keys/rs256/kid-2")


def test_wrong_master_fails():
    blob = seal(MASTER, b"private", AAD)
    with pytest.raises(UnsealError):
        unseal(secrets.token_bytes(32), blob, AAD)


@pytest.mark.parametrize("index", [0, 1, 12, 13, -1])  # version, nonce, ciphertext, tag
def test_any_flipped_byte_fails(index: int):
    blob = bytearray(seal(MASTER, b"private", AAD))
    blob[index] ^= 0x01
    with pytest.raises(UnsealError):
        unseal(MASTER, bytes(blob), AAD)


def test_truncated_blob_fails():
    blob = seal(MASTER, b"private", AAD)
    for cut in (0, 5, len(blob) - 1):
        with pytest.raises(UnsealError):
            unseal(MASTER, blob[:cut], AAD)


def _key_with_url_safe_characters() -> bytes:
    while True:
        raw = secrets.token_bytes(32)
        text = base64.b64encode(raw).decode()
        if "+" in text and "/" in text:
            return raw


def test_decode_accepts_standard_and_url_safe_padded_or_not():
    raw = _key_with_url_safe_characters()
    standard = base64.b64encode(raw).decode()
    url_safe = base64.urlsafe_b64encode(raw).decode()
    for text in (standard, standard.rstrip("="), url_safe, url_safe.rstrip("="), f" {url_safe}\n"):
        assert decode_master_key(text) == raw


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("not base64 at all!", "is not base64"),
        (base64.b64encode(b"k" * 16).decode(), "this is 16 bytes"),
        (base64.b64encode(b"k" * 33).decode(), "this is 33 bytes"),
    ],
)
def test_decode_errors_are_readable_and_do_not_echo_the_key(text: str, message: str):
    with pytest.raises(MasterKeyError) as caught:
        decode_master_key(text)
    assert message in str(caught.value)
    assert "openssl rand -base64 32" in str(caught.value)
    if text:
        assert text not in str(caught.value)


def _settings(mode: str = "development", key: str = "", key_file: str = "") -> Settings:
    return Settings(
        server=ServerSettings(mode=mode), master=MasterSettings(key=key, key_file=key_file)
    )


def test_load_from_setting_then_from_file(tmp_path):
    raw = secrets.token_bytes(32)
    assert load_master_key(_settings(key=base64.b64encode(raw).decode()), tmp_path) == raw
    path = tmp_path / "secret" / "master"
    path.parent.mkdir()
    path.write_text(base64.urlsafe_b64encode(raw).decode() + "\n")
    assert load_master_key(_settings("production", key_file=str(path)), tmp_path) == raw
    assert not (tmp_path / "master.key").exists()


def test_unreadable_or_bad_key_file(tmp_path):
    with pytest.raises(MasterKeyError, match=r"master\.key_file: cannot read"):
        load_master_key(_settings(key_file=str(tmp_path / "missing")), tmp_path)
    bad = tmp_path / "bad"
    bad.write_text("short")
    with pytest.raises(MasterKeyError, match=r"master\.key_file"):
        load_master_key(_settings(key_file=str(bad)), tmp_path)


def test_development_generates_once_with_mode_0600_and_reuses(tmp_path):
    instance = tmp_path / "instance"
    first = load_master_key(_settings(), instance)
    path = instance / "master.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) == 32
    assert load_master_key(_settings(), instance) == first


def test_production_never_generates(tmp_path):
    with pytest.raises(MasterKeyError, match="production needs a master key"):
        load_master_key(_settings("production"), tmp_path)
    assert not (tmp_path / "master.key").exists()
