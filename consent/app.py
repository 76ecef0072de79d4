"""Wires consent into the Flask app: the guardian's pages, the services' consent API and the
admin API (token exchange is a grant of the OAuth server, registered by idp.oidc.server)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from consent import admin_api, api, pages

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin_api.bp)
