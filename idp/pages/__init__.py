"""The pages people see: home-city chooser, the city's sign-in form, who you are, sign-out."""

from flask import Blueprint

bp = Blueprint("pages", __name__)

from idp.pages import account, approvals, errors, signin  # noqa: E402, F401  (registers the views)
