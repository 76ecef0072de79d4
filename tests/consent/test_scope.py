"""Which consent records an administrator sees (consent.scope): a city's consent administrator
the records of the city's children, a child linked across two cities in both, a national
auditor every city's, read-only; anyone else nothing."""

from __future__ import annotations

from sqlalchemy import select

from consent import purposes, records
from consent.models import ConsentRecord
from consent.scope import AUDITOR, CONSENT_ADMIN, scope_of
from core.db import db
from tests.consent.conftest import READING, person


def ask(city: str, username: str) -> str:
    purpose = purposes.latest(db.session, READING)
    view, _ = records.request(
        db.session, purpose, person(city, username), client_id="demo-reading-app"
    )
    db.session.commit()
    return view.record.id


def mover_record() -> str:
    """A record Vantaa holds for the mover (who has accounts in Espoo and Vantaa), written
    as the broker writes one (the demo mover has no guardian to ask)."""
    from consent.ledger import entries
    from consent.models import new_id
    from core.db import utcnow

    values = {
        "id": new_id(), "purpose_id": READING, "purpose_version": 1,
        "child_id": person("vantaa", "mover").id, "city": "vantaa",
        "requested_by": "demo-reading-app", "created_at": utcnow(),
    }  # fmt: skip
    db.session.add(ConsentRecord(**values, leaf=entries.append(db.session, "record", values)))
    db.session.commit()
    return values["id"]


def seen(scope) -> set[str]:
    return set(db.session.scalars(select(ConsentRecord.id).where(scope.records(db.session))))


def test_each_administrator_sees_their_citys_children_and_the_auditor_every_city(consent_app):
    with consent_app.app_context():
        espoo, vantaa, mover = (
            ask("espoo", "pupil1"),
            ask("vantaa", "pupil1"),
            mover_record(),
        )
        admin_espoo = scope_of(db.session, person("espoo", "admin1").id)
        admin_vantaa = scope_of(db.session, person("vantaa", "admin1").id)
        auditor = scope_of(db.session, person("espoo", "auditor1").id)

        assert (admin_espoo.role, admin_espoo.cities, admin_espoo.every_city) == (
            CONSENT_ADMIN, frozenset({"espoo"}), False,
        )  # fmt: skip
        # The mover has accounts in Espoo and Vantaa: both cities see the record Vantaa holds.
        assert seen(admin_espoo) == {espoo, mover}
        assert seen(admin_vantaa) == {vantaa, mover}
        assert seen(auditor) == {espoo, vantaa, mover}
        assert (auditor.role, auditor.every_city) == (AUDITOR, True)

        assert admin_espoo.visible(db.session, espoo) is not None
        assert admin_espoo.visible(db.session, vantaa) is None  # as if it did not exist
        assert admin_espoo.visible(db.session, "x" * 300) is None
        assert admin_vantaa.visible(db.session, mover) is not None
        assert auditor.visible(db.session, vantaa) is not None

        assert admin_espoo.may_change("espoo") and not admin_espoo.may_change("vantaa")
        assert not auditor.may_change("espoo")


def test_people_without_a_permission_administer_nothing(consent_app):
    with consent_app.app_context():
        for username in ("pupil1", "guardian1", "teacher1"):
            assert scope_of(db.session, person("espoo", username).id) is None
