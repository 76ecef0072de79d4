"""The broker's request, response and session classes (idp.wsgi): the same answers as Flask's."""

from __future__ import annotations

import gc

from idp import create_app


def test_a_buffered_body_is_one_piece_and_head_has_none(client):
    response = client.get("/healthz")
    assert response.json == {"status": "ok"}
    assert list(response.response) == [response.get_data()]
    head = client.head("/healthz")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == response.headers["Content-Length"]


def test_a_file_still_streams(client):
    response = client.get("/static/app.css")
    assert response.status_code == 200
    assert b"{" in response.get_data()
    response.close()


def test_a_request_without_cookies_gets_no_session_cookie(client):
    response = client.post("/oidc/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers


def test_the_servers_factory_freezes_the_start_up_heap(app_config, monkeypatch):
    monkeypatch.setenv("DIGIONE_DATABASE_URL", app_config["database"]["url"])
    monkeypatch.setenv("DIGIONE_MASTER_KEY", app_config["master"]["key"])
    monkeypatch.setenv("DIGIONE_SERVER_INSTANCE_DIR", app_config["server"]["instance_dir"])
    create_app(app_config)  # the tests' way: nothing frozen
    assert gc.get_freeze_count() == 0
    try:
        served = create_app()  # granian's way
        assert gc.get_freeze_count() > 10_000
        assert served.test_client().get("/healthz").status_code == 200
    finally:
        gc.unfreeze()
