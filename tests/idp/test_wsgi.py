"""The broker's request, response and session classes (idp.wsgi): the same answers as Flask's."""

from __future__ import annotations


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
