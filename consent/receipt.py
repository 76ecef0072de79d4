"""A consent receipt: the record as JSON, signed as a JWS by the broker's published signing key
(CONSENT.md "What a consent record carries", merged from ISO/IEC TS 27560:2023 and the Kantara
Consent Receipt v1.1). Anyone verifies it with /.well-known/jwks.json; GDPR art. 7(1): the
controller can demonstrate who consented, when, to which text and by which sign-in. Its
``log`` carries the record's entries in the audit log with their inclusion proofs against a
signed checkpoint, so it is verifiable against the log too (consent.ledger.proofs)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from consent import records
from consent.ledger import checkpoints, proofs
from consent.models import ConsentEvent
from consent.records import View
from core.db import utcnow
from core.settings import Config
from federation.models import Person
from idp.oidc.models import Client
from keys.store import KeyStore

SCHEMA_VERSION = "digione-consent-receipt/1"
TYPE = "consent-receipt+jwt"
WITHDRAWAL_METHOD = "page, one action"
ANSWER_KINDS = ("approve", "refuse", "withdraw")


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _party(session: Session, client_id: str, language: str) -> dict:
    client = session.get(Client, client_id)
    metadata = client.client_metadata if client is not None else {}
    name = metadata.get(f"client_name#{language}") or metadata.get("client_name")
    return {"client_id": client_id, "name": name}


def _controller(cfg: Config, slug: str, language: str) -> dict:
    city = cfg.cities.get(slug)
    name = getattr(city.name, language, city.name.fi) if city is not None else None
    return {"id": slug, "name": name, "contact": None}


def _indicated_by(rows: list[ConsentEvent]) -> list[dict]:
    """Who answered, each with the custody basis (the deciders) at that moment."""
    return [
        {
            "at": _time(row.at),
            "answer": row.kind,
            "actor_type": row.actor_type,
            "actor_id": row.actor_id,
            "method": row.method,
            "acr": row.acr,
            "purpose_version_seen": row.purpose_version,
            "custody_basis": row.deciders,
        }
        for row in rows
        if row.kind in ANSWER_KINDS
    ]


def _history(current: View, rows: list[ConsentEvent]) -> list[dict]:
    by_id = {row.id: row for row in rows}
    out = []
    for step in current.derived.history:
        row = by_id.get(step.event_id) if step.event_id is not None else None
        out.append(
            {
                "at": _time(step.at),
                "kind": step.kind,
                "actor_type": row.actor_type if row is not None else "system",
                "actor_id": step.actor_id or "broker",
                "method": row.method if row is not None else "system",
                "acr": row.acr if row is not None else None,
                "reason": step.reason,
                "state_after": step.state,
                "counted": step.counted,
            }
        )
    return out


def claims(session: Session, current: View, cfg: Config, *, language: str = "fi") -> dict:
    """The receipt's content (JSON-serialisable), texts in ``language``; the issuer and the
    controller's name from ``cfg``."""
    record, purpose, derived = current.record, current.purpose, current.derived
    child = session.get(Person, record.child_id)
    rows = records.events(session, record.id)
    settings = cfg.settings
    return {
        "iss": settings.server.issuer,
        "iat": int(utcnow().timestamp()),
        "schema_version": SCHEMA_VERSION,
        "record_id": record.id,
        "jurisdiction": "FI",
        "language": language,
        "data_subject": {
            "id": record.child_id,
            "learner_id": child.learner_id if child is not None else None,
        },
        "indicated_by": _indicated_by(rows),
        "purpose": {
            "id": purpose.purpose_id,
            "version": purpose.version,
            "category": purpose.category,
            "title": purpose.text("title", language),
            "description": purpose.text("description", language),
        },
        "lawful_basis": purpose.lawful_basis,
        "notice": {"hash": purpose.notice_hash, "hash_alg": "sha-256", "url": purpose.notice_url},
        "data_categories": list(purpose.scopes),
        "data_description": purpose.text("data_description", language),
        "source_system": _party(session, purpose.source_client_id, language),
        "recipient": _party(session, purpose.recipient_client_id, language),
        "retention": purpose.text("retention", language),
        "storage_and_processing_location": None,  # not yet part of a purpose's registration
        "controller": _controller(cfg, record.city, language),
        "requested_by": record.requested_by,
        "state": derived.state,
        "state_reason": derived.reason,
        "history": _history(current, rows),
        "validity": {
            "from": _time(derived.given_at),
            "until": _time(derived.valid_until),
            "days": purpose.validity_days,
            "until_date": purpose.valid_until.isoformat() if purpose.valid_until else None,
            "ended_at": _time(derived.ended_at),
        },
        "withdrawal_method": WITHDRAWAL_METHOD,
        "log": _log(session, record.id, settings.server.issuer),
    }


def _log(session: Session, record_id: str, issuer: str) -> dict | None:
    """Where the record stands in the audit log: its record and events as leaves with their
    inclusion proofs against the latest checkpoint (consent.ledger.proofs), and where to fetch
    the keys that verify the checkpoint."""
    found = proofs.bundle(session, record_id, audit=False)
    if found is None:
        return None
    del found["record_id"]
    return {
        "origin": checkpoints.origin_for(issuer),
        "keys": f"{issuer.rstrip('/')}/consent-log/keys",
        **found,
    }


def signed(
    session: Session, current: View, cfg: Config, keys: KeyStore, *, language: str = "fi"
) -> str:
    """The receipt as a JWS compact serialization (RFC 7515) signed by the active RS256 key of
    ``keys``, the one the JWKS publishes; header ``typ`` is ``consent-receipt+jwt``."""
    return keys.sign_jwt(
        claims(session, current, cfg, language=language), use="rs256", headers={"typ": TYPE}
    )
