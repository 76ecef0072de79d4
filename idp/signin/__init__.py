"""The sign-in: the home-city chooser and the city's password form (form), sign-in through a
city's SAML or OpenID Connect provider (upstream), the end of every sign-in (complete), the
throttle of wrong passwords (throttle), and the signed-in person's page and sign-out (account,
approvals). The views are the ``pages`` blueprint (its endpoint names are public: templates and
services' links use them).

A sign-in returns to where a protocol frontend sent the browser (``next``); it never imports a
frontend, and asks them through idp.sso.frontends what it needs of them."""

from flask import Blueprint

bp = Blueprint("pages", __name__)

from idp.signin import account, approvals, form, second_factor  # noqa: E402, F401  (registers the views)
