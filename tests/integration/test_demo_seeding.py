"""The demo competition is seeded by one command, once, and the same on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import sqlalchemy as sa
from flask_migrate import upgrade

from competition import create_app
from competition.accounts.models import User
from competition.assignment.models import Conflict, JurorProfile, JuryMembership
from competition.audit.models import AuditEvent
from competition.extensions import db
from competition.organisations.models import Organisation
from competition.programmes.models import Call, Programme
from competition.proposals.models import Proposal
from tests.conftest import ROOT, testing_settings


def seed(app) -> str:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    return result.output


def fingerprint() -> str:
    """Everything a person would compare between two seeded databases."""
    digest = hashlib.sha256()
    proposals = db.session.scalars(sa.select(Proposal).order_by(Proposal.reference)).all()
    for proposal in proposals:
        members = sorted((m.organisation.name, m.role.value) for m in proposal.members)
        public = sum(
            (line.public_funding for s in proposal.submissions for line in s.budget_lines),
            Decimal(0),
        )
        digest.update(repr((proposal.reference, proposal.title, members, str(public))).encode())
    for email in db.session.scalars(sa.select(User.email).order_by(User.email)):
        digest.update(email.encode())
    organisation = {o.id: o.name for o in db.session.scalars(sa.select(Organisation))}
    email = dict(db.session.execute(sa.select(User.id, User.email)).all())
    reference = dict(db.session.execute(sa.select(Proposal.id, Proposal.reference)).all())
    profiles = sorted(
        (
            email[p.user_id],
            organisation.get(p.affiliation_id),
            sorted(organisation[o] for o in p.former_organisation_ids),
            sorted(t.slug for t in p.topics),
            p.expertise_text,
            p.max_load,
        )
        for p in db.session.scalars(sa.select(JurorProfile))
    )
    round_number = dict(db.session.execute(sa.select(Call.id, Call.round_number)).all())
    places = sorted(
        (round_number[m.call_id], email[m.user_id], m.state.value, m.responded_at is None)
        for m in db.session.scalars(sa.select(JuryMembership))
    )
    conflicts = sorted(
        (email[c.user_id], reference[c.proposal_id], c.source.value, c.reason)
        for c in db.session.scalars(sa.select(Conflict))
    )
    digest.update(repr((profiles, places, conflicts)).encode())
    return digest.hexdigest()


def row_counts() -> dict[str, int]:
    tables = (Proposal, Programme, JurorProfile, JuryMembership, Conflict, AuditEvent)
    return {
        t.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(t))
        for t in tables
    }


def test_seeding_twice_changes_nothing_the_second_time(app):
    assert "Seeded Clusters4Future: 254 proposals" in seed(app)
    with app.app_context():
        first = row_counts()
        db.session.remove()
    assert "already there" in seed(app)
    with app.app_context():
        assert row_counts() == first
        assert first["proposals"] == 254 and first["programmes"] == 1
        assert first["jury_memberships"] == 60 and first["juror_profiles"] == 60


def test_the_same_data_on_sqlite_and_postgresql(app, tmp_path):
    seed(app)
    with app.app_context():
        on_postgresql = fingerprint()
    lite = create_app(testing_settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}"))
    with lite.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    seed(lite)
    with lite.app_context():
        assert fingerprint() == on_postgresql
        db.engine.dispose()
