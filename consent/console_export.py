"""The console's export (/admin/export): a city's consent records as CSV or JSON, streamed
row by row, stamped with the audit log's checkpoint they were read at. A city's consent
administrator exports their own city's records; an auditor any city's. Each export is an audit
entry (``consent.export``), written before the first row leaves, so that the guardians of
every child in it see it."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, abort, request, stream_with_context
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from consent import audit, exports
from consent.console import current_admin
from consent.history import export_rows
from consent.ledger import checkpoints, store
from consent.models import ConsentStatus
from core.app import config
from core.db import db
from keys.app import key_store

bp = Blueprint("admin_export", __name__, url_prefix="/admin")


def _stamp() -> dict:
    """A signed checkpoint that covers everything written so far (made now when the log has
    grown since the latest): its size, root and note."""
    origin = checkpoints.origin_for(config().settings.server.issuer)
    latest = checkpoints.latest(db.session)
    if latest is None or store.size(db.session) > latest.size:
        try:
            latest = checkpoints.make(db.session, checkpoints.signer(origin, key_store()))
            db.session.commit()
        except IntegrityError:  # another instance signed the same size at once: it is that
            db.session.rollback()
            latest = checkpoints.latest(db.session)
    return {
        "origin": origin,
        "tree_size": latest.size,
        "root_hash": base64.b64encode(latest.root_hash).decode(),
        "note": latest.note,
    }


@bp.get("/export")
def export():
    """``?city=SLUG&format=csv|json``: the city's records (it is their controller)."""
    admin = current_admin()
    if isinstance(admin, Response):
        return admin
    city, fmt = request.args.get("city", ""), request.args.get("format", "csv")
    if city not in config().cities or not (admin.scope.every_city or city in admin.scope.cities):
        abort(404)
    if fmt not in exports.FORMATS:
        abort(400)
    stamp = _stamp()
    count = db.session.scalar(
        select(func.count()).select_from(ConsentStatus).where(ConsentStatus.city == city)
    )
    audit.append(
        db.session, actor_type="admin", actor_id=admin.sso.person_id, action="consent.export",
        channel="page", detail={"city": city, "count": count, "format": fmt,
                                "role": admin.scope.role, "tree_size": stamp["tree_size"]},
    )  # fmt: skip
    db.session.commit()
    chunks = exports.lines(export_rows(db.session, city), fmt, stamp if fmt == "json" else None)
    response = Response(stream_with_context(chunks), mimetype=exports.MEDIA_TYPES[fmt])
    name = f"consents-{city}-at-{stamp['tree_size']}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["DigiOne-Checkpoint-Size"] = str(stamp["tree_size"])
    response.headers["DigiOne-Checkpoint-Root"] = stamp["root_hash"]
    return response
