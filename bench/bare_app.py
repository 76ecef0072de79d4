"""Scenario 7, the ceiling of the stack: a bare Flask endpoint returning a constant, served by
the same WSGI server with the same settings as the broker."""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def constant():
        return {"status": "ok"}

    return app
