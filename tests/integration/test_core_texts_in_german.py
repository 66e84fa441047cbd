"""What the core says reaches a German reader in German: the applicant's checklist, amounts and
uploads refused, the juror's scores, the officer's decisions and line."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.extensions import db
from tests.helpers import as_person
from tests.integration.reviews_world import (
    GOOD_COMMENT,
    field_error,
    post_review,
    world,  # noqa: F401  (a fixture, found by name)
)
from tests.integration.submission_world import (
    build_world,
    editor,
    field_markup,
    form_value,
    log_in,
    post,
    text,
    upload,
    write_draft,
)

pytestmark = pytest.mark.postgres


def speaks_german(email: str) -> None:
    person = db.session.scalar(sa.select(User).where(User.email == email))
    assert person is not None
    person.locale = "de"
    db.session.commit()


@pytest.fixture
def app(make_app, tmp_path):  # type: ignore[no-untyped-def]
    return make_app(upload_folder=str(tmp_path / "uploads"))


def test_a_german_applicant_reads_the_checklist_of_the_editing_page_in_german(app):
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
        speaks_german(world.coordinator)
    browser = log_in(app, world.coordinator)

    page = text(browser.get(editor(draft)))

    assert "Schreiben Sie eine Zusammenfassung." in page
    assert "„Strategy“ ist leer; dieser Abschnitt ist erforderlich." in page
    assert "Das Budget ist leer; tragen Sie Zuwendung und Eigenanteil" in page
    assert "Write an abstract." not in page


def test_a_german_applicant_is_told_in_german_why_an_amount_cannot_be_read(app):
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        speaks_german(world.coordinator)
    browser = log_in(app, world.coordinator)
    page = browser.get(editor(draft)).get_data(as_text=True)
    action = f"/proposals/{draft.proposal_id}/budget"
    coordinator = draft.coordinator_member_id

    refused = post(
        browser,
        action,
        {
            "base_revision": form_value(page, action, "base_revision"),
            f"public-m{coordinator}-y1": "1,2 Mio.",
            f"own-m{coordinator}-y1": "1.5",
        },
    )

    assert refused.status_code == 422
    messages = field_markup(text(refused), f"own-m{coordinator}-y1")
    assert "Schreiben Sie den Betrag vollständig und nur mit Ziffern, etwa 1.200.000,00" in messages
    assert "Trennen Sie Tausender in Dreiergruppen" in messages


def test_a_german_applicant_is_told_in_german_why_an_upload_is_refused(app):
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        speaks_german(world.coordinator)
    browser = log_in(app, world.coordinator)

    refused = upload(browser, draft, b"MZ\x90\x00 a program", name="cv.pdf")

    assert refused.status_code == 422
    page = text(refused)
    assert "Die Datei ist ein Windows-Programm, keine PDF-Datei (Umbenennen in .pdf" in page
    assert "Windows program" not in page


def test_a_german_officer_is_told_in_german_what_stands_in_the_way_of_a_decision(make_app):
    from tests.integration.test_decision_pages import (
        RATIONALE,
        base,
        build,
        decisions,
        preview,
        propose_directly,
    )

    app = make_app()
    with app.app_context():
        world = build()
        speaks_german(world.officer)
    propose_directly(app, world, world.proposals[:1])
    [mine] = decisions(app)
    officer = as_person(app, world.officer)

    nothing = preview(officer, world, outcome="reject", rationale=RATIONALE)
    own = officer.submit(
        f"{base(world)}/confirm/preview",
        {"decisions": [str(mine.id)], "scope": "selected"},
        page=f"{base(world)}/confirm",
    )

    assert nothing.status_code == 422
    assert "Wählen Sie mindestens einen Antrag ohne bestätigte Entscheidung." in text(nothing)
    assert own.status_code == 403
    assert "eine andere Referentin oder ein anderer Referent muss die Entscheidung" in text(own)


def test_the_line_kept_for_an_english_officer_says_why_in_german_to_a_german_one(make_app):
    from tests.integration.test_line import M, Spec, build_line_world

    app = make_app()
    with app.app_context():
        world = build_line_world(
            [Spec(requested=4 * M), Spec(requested=5 * M), Spec(requested=3 * M)],
            budget=10 * M,
        )
        speaks_german(world.second_officer)
    page = f"{world.page}/line"
    english = text(as_person(app, world.officer).get(page))

    german = text(as_person(app, world.second_officer).get(page))

    assert "Requested 3.0 M€, only 1.0 M€ left" in english
    assert "Beantragt 3,0 Mio. €, nur noch 1,0 Mio. € übrig" in german
    assert "Requested" not in german


def test_a_german_juror_reads_the_scale_and_a_scores_problem_in_german(app, world):  # noqa: F811
    with app.app_context():
        speaks_german(world.juror.email)
    browser = as_person(app, world.juror)
    data = world.form(
        "4.3", "4", "4", base_revision="0", comment_for_applicant=GOOD_COMMENT, action="submit"
    )
    data["confidence"] = "4"

    page = text(browser.get(world.review_url(world.juror)))
    refused = post_review(browser, world, world.juror, data)

    assert "verwenden Sie Schritte von 0,5 zwischen 0 und 5" in page
    assert refused.status_code == 422
    error = field_error(text(refused), f"score-{world.criteria[0]}")
    assert error == "Excellence: verwenden Sie Schritte von 0,5 zwischen 0 und 5."


def test_a_step_refused_by_the_workflow_is_explained_in_the_readers_language(app):
    from flask_babel import force_locale

    from competition.db import utcnow
    from competition.proposals.models import Proposal, ProposalState
    from competition.workflow import StepRefused, apply_step
    from tests.factories import make_proposal

    with app.test_request_context():
        proposal = make_proposal(state=ProposalState.WITHDRAWN)
        db.session.commit()
        refused = []
        for locale in ("en", "de"):
            with force_locale(locale), pytest.raises(StepRefused) as caught:
                apply_step(
                    db.session.get(Proposal, proposal.id), "advance", actor=None, now=utcnow()
                )
            refused.append(str(caught.value))
            db.session.rollback()

    assert refused == [
        "This proposal is withdrawn; it cannot be advanced now.",
        "Dieser Antrag ist zurückgezogen; er kann jetzt nicht in die nächste Stufe übernommen "
        "werden.",
    ]


def test_a_german_officer_reads_why_no_assignment_exists_in_german(make_app):
    from tests.integration.test_assignment_runs import build_world as assignment_world
    from tests.integration.test_assignment_runs import start

    app = make_app()
    with app.app_context():
        world = assignment_world(seats=5)  # 5 jurors, one with a conflict on the first proposal
        speaks_german(world.officer)
    officer = as_person(app, world.officer)

    start(officer, world)

    page = text(officer.get(world.page))
    assert "hat nur 4 Gutachter*innen ohne Interessenkonflikt für 5 Plätze" in page
    assert "without a conflict" not in page
