"""Every programme of the family, set up through the pages as its officers would, then one
applicant taken through to a submitted proposal and one juror through a review."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.integration.programme_pages import (
    Applicant,
    Juror,
    Officer,
    assignment_of,
    berlin,
    juror_choice,
    mail_templates,
    officer_account,
    score_fields,
    text,
)

pytestmark = pytest.mark.postgres

NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def test_programme_clusters4future_runs_two_rounds_from_outline_to_hearing(app):
    officer = Officer(app, officer_account(app, "referat@bmbf.example"))
    programme = officer.programme(name="Clusters4Future", total_budget="630.000.000")
    call = officer.call(
        programme,
        name="Clusters4Future, erste Runde",
        round_number="1",
        reference_prefix="C4F1",
        max_public_funding_per_proposal="45000000",
    )
    outline = officer.stage(
        call,
        kind="outline",
        name="Skizze",
        opens_at=berlin(NOW - dt.timedelta(days=1)),
        closes_at=berlin(NOW + dt.timedelta(days=30)),
        sections="Clusterstrategie | 12000",
        reviewers_per_proposal="1",
        selection_target="16",
    )
    officer.criterion(outline, "Qualität der Strategie", weight="2")
    officer.criterion(outline, "Konsortium")
    officer.publish_call(call)

    from competition.extensions import db
    from tests.factories import make_topic

    with app.app_context():
        topic = make_topic().id  # until officers make topics on the pages
        db.session.commit()
    applicant = Applicant.register(app, "Dr. Kim Koordinatorin", "kim@uni-jena.example")
    proposal = applicant.start(call, "PHOTON", "Photonik für die Zukunft")
    applicant.general("PHOTON", "Photonik für die Zukunft", "Licht als Werkzeug.", [topic])
    coordinator = applicant.member("Universität Jena", "coordinator", "university", "DE-TH")
    partner = applicant.member("Carl Zeiss AG", "partner", "large_enterprise", "DE-BW")
    applicant.budget(
        {
            f"public-m{coordinator}-y1": "1000000",
            f"own-m{coordinator}-y1": "0",
            f"public-m{partner}-y1": "500000",
            f"own-m{partner}-y1": "500000",
        }
    )
    applicant.section("clusterstrategie", "Unsere Strategie. " * 50)
    receipt = applicant.submit()
    assert receipt
    assert "proposals/receipt" in mail_templates(app, applicant.email)

    officer.invite_juror(call, "Prof. Jana Jurorin", "jana@tu-dresden.example")
    juror = Juror.accept(app, "jana@tu-dresden.example", "Prof. Jana Jurorin", call)
    juror.declare_no_conflicts(call)
    officer.assign(
        call,
        outline,
        proposal,
        juror_choice(officer, call, outline, proposal, "Prof. Jana Jurorin"),
    )
    officer.release(call, outline)
    assignment = assignment_of(juror)
    page = text(juror.browser.get(f"/reviews/assignments/{assignment}"))
    scores = {name: "4" for name in score_fields(page)}
    assert len(scores) == 2
    juror.review(assignment, scores, "Überzeugende Strategie. " * 20)
