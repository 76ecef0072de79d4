"""CHECKLISTS.md, OAuth token endpoint: "Concurrency: the same code or refresh token sent twice at
once yields exactly one success" (with "a code exchanged twice fails and revokes what it issued"
and "refresh rotation and reuse detection"), plus the same for a private_key_jwt assertion
("replay detected").

Real threads, each with its own test client (own request, app context and database session),
are released together by a barrier and post the same credential. Exactly one gets 200; the
others get 400 invalid_grant (401 invalid_client for the assertion). A loser is a replay, so it
revokes the grant the winner got: afterwards the winner's refresh token and access token are
dead too. Runs on SQLite and, with DIGIONE_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from flask import Flask

from tests.oidc.forge import KeyPair, assertion_form, register_service
from tests.oidc.helpers import RP, exchange, get_code, register, signed_in_browser

SCOPE = "openid profile offline_access"


def race(app: Flask, threads: int, post: Callable) -> list:
    """``post(test_client)`` in ``threads`` threads released at the same moment; the responses
    (an exception in a thread fails the test)."""
    barrier = threading.Barrier(threads)
    results: list = [None] * threads
    errors: list[BaseException] = []

    def run(index: int) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=30)
            results[index] = post(client)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers), "a request hung"
    assert not errors, errors
    return results


def one_winner(responses: list, error: str = "invalid_grant", status: int = 400):
    """Exactly one 200; every other response is ``status`` ``error``. The winner's body."""
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [status] * (len(responses) - 1), [
        (r.status_code, r.get_data(as_text=True)[:200]) for r in responses
    ]
    for response in responses:
        assert response.headers["Cache-Control"] == "no-store"
        if response.status_code != 200:
            assert response.json["error"] == error
    return next(r for r in responses if r.status_code == 200).json


def assert_grant_dead(client, rp: RP, body: dict) -> None:
    """The winner's refresh token no longer refreshes; its access token is inactive at
    introspection and refused at userinfo."""
    data = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    response = client.post("/oidc/token", data=data, headers=rp.basic())
    assert response.status_code == 400, response.json
    assert response.json["error"] == "invalid_grant"
    response = client.post(
        "/oidc/introspect", data={"token": body["access_token"]}, headers=rp.basic()
    )
    assert response.json == {"active": False}
    response = client.get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize("threads", [2, 4])
def test_same_code_at_once_one_success(seeded, threads):
    """oidcc-codereuse, at the same moment: one exchange wins, the others are code reuse and
    revoke the tokens the winner got (RFC 6749 section 4.1.2, RFC 9700 section 4.14.2)."""
    rp = register(seeded)
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp, scope=SCOPE)
    responses = race(seeded, threads, lambda client: exchange(client, rp, code, verifier))
    winner = one_winner(responses)
    assert {"access_token", "refresh_token", "id_token"} <= winner.keys()
    assert_grant_dead(seeded.test_client(), rp, winner)


@pytest.mark.parametrize("threads", [2, 4])
def test_same_refresh_token_at_once_one_success(seeded, threads):
    """Refresh rotation at the same moment: one refresh wins, the others are reuse and revoke
    the family, the winner's new refresh token included (RFC 9700 section 4.14.2)."""
    rp = register(seeded)
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp, scope=SCOPE)
    first = exchange(browser, rp, code, verifier).json
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}

    responses = race(
        seeded, threads, lambda client: client.post("/oidc/token", data=data, headers=rp.basic())
    )
    winner = one_winner(responses)
    assert winner["refresh_token"] != first["refresh_token"]
    assert_grant_dead(seeded.test_client(), rp, winner)
    assert_grant_dead(seeded.test_client(), rp, first)


@pytest.mark.parametrize("threads", [2, 4])
def test_same_client_assertion_at_once_one_success(app, threads):
    """private_key_jwt replay at the same moment: one request authenticates, the others are
    401 invalid_client (RFC 7523 section 3 point 7)."""
    service = register_service(app, KeyPair.rsa())
    app.test_client().get("/.well-known/jwks.json")  # signing keys made before the race
    form = {
        "grant_type": "client_credentials",
        "scope": "edu:school",
        **assertion_form(service.assertion()),
    }
    responses = race(app, threads, lambda client: client.post("/oidc/token", data=form))
    one_winner(responses, error="invalid_client", status=401)


def test_race_overlaps(seeded):
    """The harness does run requests at the same time (else the tests above would prove only
    sequential reuse): two slow requests released together overlap."""
    spans: list[tuple[float, float]] = []

    def post(client):
        start = time.monotonic()
        response = client.get("/login/espoo")
        spans.append((start, time.monotonic()))
        return response

    for _ in range(5):
        spans.clear()
        race(seeded, 2, post)
        (a_start, a_end), (b_start, b_end) = spans
        if max(a_start, b_start) < min(a_end, b_end):
            return
    pytest.fail(f"requests never overlapped: {spans}")
