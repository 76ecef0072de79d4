"""The broker's one outbound HTTP client (core.outbound) against a real listener on loopback:
production's policy refuses every address that is not public before a byte is sent, the
connection goes to the address that was checked, redirects are not followed, and size and
time are bounded."""

from __future__ import annotations

import socket
import time

import pytest

from core import outbound
from tests.core.listener import dripping, json_answer, listening, redirect_to

PRODUCTION = outbound.Policy.for_mode(production=True)
DEVELOPMENT = outbound.Policy.for_mode(production=False)
ANY = "0.0.0.0"  # noqa: S104 - an address to refuse, not to bind


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", ANY, "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1",
        "192.0.2.1", "198.18.0.1", "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1", "2001:0:4136:e378:8000:63bf:80ff:fffe", "fe80::1%lo",
    ],
)  # fmt: skip
def test_addresses_that_are_not_public(address):
    assert outbound.is_public(address) is False


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "193.166.3.2", "2001:4860:4860::8888", "::ffff:8.8.8.8"]
)
def test_public_addresses(address):
    assert outbound.is_public(address) is True


@pytest.mark.parametrize(
    "build",
    [
        lambda port: f"http://127.0.0.1:{port}/jwks",
        lambda port: f"https://127.0.0.1:{port}/jwks",
        lambda port: f"https://localhost:{port}/jwks",
        lambda port: f"https://[::ffff:127.0.0.1]:{port}/jwks",
        lambda port: f"https://0x7f000001:{port}/jwks",
        lambda port: f"https://2130706433:{port}/jwks",
        lambda port: f"https://user@127.0.0.1:{port}/jwks",
        lambda port: f"ftp://127.0.0.1:{port}/jwks",
    ],
)
def test_production_refuses_loopback_in_every_spelling_and_sends_nothing(build):
    with listening() as listener:
        with pytest.raises(outbound.Refused):
            outbound.request(build(listener.port), PRODUCTION)
        assert listener.received == []


def test_a_name_that_resolves_to_a_public_and_a_private_address_is_refused(monkeypatch):
    """One private address among the answers is enough to refuse (a DNS name an attacker
    controls can answer both)."""
    real = socket.getaddrinfo

    def answers(host, port, *args, **kwargs):
        if host == "both.example":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", answers)
    with pytest.raises(outbound.Refused, match=r"127\.0\.0\.1"):
        outbound.request("https://both.example/jwks", PRODUCTION)
    with pytest.raises(outbound.Refused):
        outbound.check("https://both.example/jwks", PRODUCTION)


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch):
    """The name is resolved once: a second answer (DNS rebinding) is never asked for. The
    Host header still names the host."""
    calls = []
    real = socket.getaddrinfo

    def answers(host, port, *args, **kwargs):
        if host == "rebind.example":
            calls.append(host)
            address = "127.0.0.1" if len(calls) == 1 else "10.9.9.9"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", answers)
    with listening() as listener:
        answer = outbound.request(f"http://rebind.example:{listener.port}/jwks", DEVELOPMENT)
        assert answer.status == 200 and answer.body == b'{"keys": []}'
        [(_method, path, headers)] = listener.received
        assert path == "/jwks" and headers["Host"] == f"rebind.example:{listener.port}"
    assert calls == ["rebind.example"]


def test_a_redirect_is_not_followed():
    with listening() as target, listening(redirect_to(target.url("/inside"))) as first:
        answer = outbound.request(first.url("/jwks"), DEVELOPMENT)
        assert answer.status == 302 and not answer.ok
        assert len(first.received) == 1 and target.received == []


def test_an_answer_larger_than_allowed_fails():
    with (
        listening(json_answer(b"x" * 5000)) as listener,
        pytest.raises(outbound.Failed, match="larger than 4096 bytes"),
    ):
        outbound.request(listener.url(), DEVELOPMENT, max_bytes=4096)


def test_a_dripping_answer_ends_at_the_deadline():
    with listening(dripping(5)) as listener:
        started = time.monotonic()
        with pytest.raises(outbound.Failed, match="timed out"):
            outbound.request(listener.url(), DEVELOPMENT, timeout=1)
        assert time.monotonic() - started < 2


def test_nothing_listening_fails_with_the_reason():
    with listening() as listener:
        url = listener.url("/jwks?code=secret")
    with pytest.raises(outbound.Failed, match="connection refused") as failed:
        outbound.request(url, DEVELOPMENT, timeout=2)
    assert "secret" not in str(failed.value)


def test_an_internal_destination_the_operator_allowed_still_needs_https():
    internal = outbound.Policy.for_mode(production=True, internal=True)
    with listening() as listener:
        with pytest.raises(outbound.Refused, match="https"):
            outbound.request(listener.url(), internal)
        assert listener.received == []
        with pytest.raises(outbound.Failed):  # allowed, then TLS fails against plain http
            outbound.request(listener.url(scheme="https"), internal, timeout=2)
        assert len(listener.received) == 0  # the handshake failed before any request


def test_check_at_registration_accepts_a_name_not_yet_in_dns():
    url = "https://not-yet-registered.invalid/jwks"
    assert outbound.check(url, PRODUCTION) == url
    with pytest.raises(outbound.Refused):
        outbound.check("https://169.254.169.254/latest/meta-data", PRODUCTION)
