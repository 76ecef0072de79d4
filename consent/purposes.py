"""Data-sharing purposes: what an admin registers (a TOML file or the admin API's JSON), and
their versions. A new version never changes an earlier one: consents stay tied to the version
they were given for, and the new version says whether it demands re-consent (CONSENT.md).
"""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from consent import status
from consent.models import Purpose
from consent.policy import Policy
from consent.states import PurposeEnd, Validity
from core.db import utcnow
from core.hashing import sha256_hex
from core.settings.schema import Strict
from idp.oidc.models import Client

LANGUAGES = ("fi", "sv", "en")
SCOPE = r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$"  # RFC 6749 section 3.3 scope-token


class PurposeError(ValueError):
    """A purpose that cannot be registered (the message says why, naming the field)."""


class Texts(Strict):
    """A text in each of the three languages: every one is required (CONSENT.md)."""

    fi: Annotated[str, Field(min_length=1, max_length=2000)]
    sv: Annotated[str, Field(min_length=1, max_length=2000)]
    en: Annotated[str, Field(min_length=1, max_length=2000)]


class PolicySpec(Strict):
    who: Literal["all_guardians", "any_guardian"] = "all_guardians"
    child_from_age: Annotated[int, Field(ge=0, le=18)] | None = None
    child_alongside_guardians: bool = False


class PurposeSpec(Strict):
    """One version of a purpose as an admin writes it (docs/consent.md has an example)."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
    title: Texts
    description: Texts
    data: Texts  # the data categories in plain words
    retention: Texts
    category: Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,64}$")] = "education"
    scopes: Annotated[list[Annotated[str, Field(pattern=SCOPE)]], Field(min_length=1)]
    source: Annotated[str, Field(min_length=1, max_length=64)]  # the source system's client_id
    recipient: Annotated[str, Field(min_length=1, max_length=64)]  # the service's client_id
    lawful_basis: Literal[
        "consent", "legal_obligation", "public_task", "contract", "vital_interests",
        "legitimate_interests",
    ] = "consent"  # fmt: skip
    policy: PolicySpec = PolicySpec()
    validity_days: Annotated[int, Field(ge=1, le=3660)] | None = None
    valid_until: date | None = None
    requires_reconsent: bool = False
    notice_url: Annotated[str, Field(pattern=r"^https://\S+$", max_length=2000)] | None = None

    @model_validator(mode="after")
    def _check(self) -> PurposeSpec:
        if self.lawful_basis == "consent" and not (self.validity_days or self.valid_until):
            raise ValueError("validity_days or valid_until: a consent needs a validity")
        if self.source == self.recipient:
            raise ValueError("recipient: must differ from source")
        return self


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "purpose"
    return f"{where}: {first['msg']}"


def parse(data: dict) -> PurposeSpec:
    """A purpose from a mapping (TOML or JSON); raises PurposeError."""
    if not isinstance(data, dict):
        raise PurposeError("purpose: must be an object")
    data = dict(data)
    if isinstance(data.get("valid_until"), str):  # JSON has no dates: an ISO 8601 date string
        try:
            data["valid_until"] = date.fromisoformat(data["valid_until"])
        except ValueError:
            raise PurposeError("valid_until: must be a date (YYYY-MM-DD)") from None
    try:
        return PurposeSpec.model_validate(data)
    except ValidationError as exc:
        raise PurposeError(_problem(exc)) from None


def read_file(path: Path) -> PurposeSpec:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PurposeError(f"{path}: {exc}") from None
    try:
        return parse(data)
    except PurposeError as exc:
        raise PurposeError(f"{path}: {exc}") from None


def notice_hash(spec: PurposeSpec) -> str:
    """SHA-256 over the notice a person is shown (texts, data, basis, parties, validity), as
    canonical JSON: a record proves which text was shown."""
    notice = spec.model_dump(mode="json", exclude={"requires_reconsent"})
    canonical = json.dumps(notice, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_hex(canonical)


def _check_parties(session: Session, spec: PurposeSpec) -> None:
    for field, client_id in (("source", spec.source), ("recipient", spec.recipient)):
        if session.get(Client, client_id) is None:
            raise PurposeError(f"{field}: no client with client_id {client_id}")


# Every version of the named purposes, oldest first (prebuilt: the token exchange reads it on
# every request, and building the statement cost as much as running it).
VERSIONS = (
    select(Purpose)
    .where(Purpose.purpose_id.in_(bindparam("ids", expanding=True)))
    .order_by(Purpose.purpose_id, Purpose.version)
)


def versions(session: Session, purpose_ids) -> dict[str, list[Purpose]]:
    """Every version of each of ``purpose_ids`` (one query), oldest first; the last is the
    current one. A purpose that does not exist has no entry."""
    out: dict[str, list[Purpose]] = {}
    for row in session.scalars(VERSIONS, {"ids": list(purpose_ids)}):
        out.setdefault(row.purpose_id, []).append(row)
    return out


def latest(session: Session, purpose_id: str) -> Purpose | None:
    return session.scalar(
        select(Purpose).where(Purpose.purpose_id == purpose_id).order_by(Purpose.version.desc())
    )


def get(session: Session, purpose_id: str, version: int | None = None) -> Purpose | None:
    if version is None:
        return latest(session, purpose_id)
    return session.get(Purpose, (purpose_id, version))


def all_latest(session: Session) -> list[Purpose]:
    newest = (
        select(Purpose.purpose_id, func.max(Purpose.version).label("version"))
        .group_by(Purpose.purpose_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(Purpose)
            .join(
                newest,
                (Purpose.purpose_id == newest.c.purpose_id) & (Purpose.version == newest.c.version),
            )
            .order_by(Purpose.purpose_id)
        )
    )


def _row(spec: PurposeSpec, version: int, created_by: str) -> Purpose:
    return Purpose(
        purpose_id=spec.id,
        version=version,
        title=spec.title.model_dump(),
        description=spec.description.model_dump(),
        data_description=spec.data.model_dump(),
        retention=spec.retention.model_dump(),
        category=spec.category,
        scopes=list(dict.fromkeys(spec.scopes)),
        source_client_id=spec.source,
        recipient_client_id=spec.recipient,
        lawful_basis=spec.lawful_basis,
        who=spec.policy.who,
        child_from_age=spec.policy.child_from_age,
        child_alongside_guardians=spec.policy.child_alongside_guardians,
        validity_days=spec.validity_days,
        valid_until=spec.valid_until,
        requires_reconsent=spec.requires_reconsent,
        notice_url=spec.notice_url,
        notice_hash=notice_hash(spec),
        created_at=utcnow(),
        created_by=created_by,
    )


def add(session: Session, spec: PurposeSpec, *, created_by: str) -> Purpose:
    """Register version 1 of a new purpose; flushes. Raises PurposeError."""
    if latest(session, spec.id) is not None:
        raise PurposeError(f"id: purpose {spec.id} exists; publish a new version instead")
    _check_parties(session, spec)
    row = _row(spec, 1, created_by)
    session.add(row)
    session.flush()
    return row


def new_version(session: Session, spec: PurposeSpec, *, created_by: str) -> Purpose:
    """Publish the next version of an existing purpose; earlier versions stay as they were.
    Flushes; the primary key makes two concurrent publications of one number fail."""
    current = latest(session, spec.id)
    if current is None:
        raise PurposeError(f"id: no purpose {spec.id}; add it first")
    if current.withdrawn_at is not None:
        raise PurposeError(f"id: purpose {spec.id} has been withdrawn")
    _check_parties(session, spec)
    row = _row(spec, current.version + 1, created_by)
    session.add(row)
    session.flush()
    if row.requires_reconsent:
        status.end_by_purpose(
            session, spec.id, row.created_at, "purpose_new_version", below_version=row.version
        )
    return row


def withdraw(session: Session, purpose_id: str) -> int:
    """Withdraw every version of a purpose (once): every consent under it is invalidated."""
    now = utcnow()
    withdrawn = session.execute(
        update(Purpose)
        .where(Purpose.purpose_id == purpose_id, Purpose.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    ).rowcount
    if withdrawn:
        status.end_by_purpose(session, purpose_id, now, "purpose_withdrawn")
    return withdrawn


def policy_of(purpose: Purpose) -> Policy:
    return Policy(
        lawful_basis=purpose.lawful_basis,  # type: ignore[arg-type]
        who=purpose.who,  # type: ignore[arg-type]
        child_from_age=purpose.child_from_age,
        child_alongside_guardians=purpose.child_alongside_guardians,
    )


def validity_of(purpose: Purpose) -> Validity:
    return Validity(days=purpose.validity_days, until=purpose.valid_until)


def end_in(purpose: Purpose, every: list[Purpose]) -> PurposeEnd | None:
    """What ends consents given under ``purpose`` (this version), among ``every`` version of
    it: the purpose's withdrawal, or the first later version that demands re-consent."""
    if purpose.withdrawn_at is not None:
        return PurposeEnd(purpose.withdrawn_at, "purpose_withdrawn")
    for later in sorted(every, key=lambda row: row.version):
        if later.version > purpose.version and later.requires_reconsent:
            return PurposeEnd(later.created_at, "purpose_new_version")
    return None


def end_of(session: Session, purpose: Purpose) -> PurposeEnd | None:
    """end_in, reading the purpose's versions."""
    return end_in(purpose, versions(session, [purpose.purpose_id]).get(purpose.purpose_id, []))


def to_dict(purpose: Purpose) -> dict:
    """A purpose version as the admin API and `digione purposes show --json` give it."""
    return {
        "id": purpose.purpose_id,
        "version": purpose.version,
        "title": purpose.title,
        "description": purpose.description,
        "data": purpose.data_description,
        "retention": purpose.retention,
        "category": purpose.category,
        "scopes": purpose.scopes,
        "source": purpose.source_client_id,
        "recipient": purpose.recipient_client_id,
        "lawful_basis": purpose.lawful_basis,
        "policy": {
            "who": purpose.who,
            "child_from_age": purpose.child_from_age,
            "child_alongside_guardians": purpose.child_alongside_guardians,
        },
        "validity_days": purpose.validity_days,
        "valid_until": purpose.valid_until.isoformat() if purpose.valid_until else None,
        "requires_reconsent": purpose.requires_reconsent,
        "notice_url": purpose.notice_url,
        "notice_hash": purpose.notice_hash,
        "created_at": purpose.created_at.isoformat(),
        "created_by": purpose.created_by,
        "withdrawn_at": purpose.withdrawn_at.isoformat() if purpose.withdrawn_at else None,
    }
