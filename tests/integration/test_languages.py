"""German and English: the deployment's default, each person's choice kept on the account, and
amounts read and shown the way the person's language writes them."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.berlin import BERLIN
from competition.extensions import db
from competition.proposals.models import BudgetLine
from tests.conftest import Browser, csrf_from
from tests.integration.submission_world import (
    PASSWORD,
    build_world,
    editor,
    field_markup,
    form_value,
    log_in,
    mails,
    post,
    section_url,
    submit,
    text,
    write_draft,
)

pytestmark = pytest.mark.postgres


def choose(browser: Browser, locale: str, next_page: str = "/login"):  # type: ignore[no-untyped-def]
    """The switch in the header of ``next_page``, as that page offers it."""
    page = browser.get(next_page if next_page.startswith("/") else "/login")
    return browser.client.post(
        "/language",
        data={"locale": locale, "next": next_page, "csrf_token": csrf_from(page.get_data(True))},
    )


def test_the_deployments_language_shows_until_a_visitor_chooses_another(make_app):
    browser = Browser(make_app(default_locale="de").test_client())

    german = text(browser.get("/login"))
    assert '<html lang="de">' in german
    assert "Offene Ausschreibungen" in german and ">English</button>" in german

    answer = choose(browser, "en")
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    english = text(browser.get("/login"))
    assert '<html lang="en">' in english
    assert "Open calls" in english and ">Deutsch</button>" in english


def test_a_signed_in_persons_language_is_kept_on_the_account_for_the_next_login(make_app):
    app = make_app(default_locale="en")
    with app.app_context():
        world = build_world()
    browser = log_in(app, world.coordinator)
    assert "Log out" in text(browser.get("/"))

    choose(browser, "de", "/")

    assert "Abmelden" in text(browser.get("/"))
    with app.app_context():
        person = db.session.scalar(sa.select(User).where(User.email == world.coordinator))
        assert person.locale == "de"
    elsewhere = Browser(app.test_client())
    assert elsewhere.login(world.coordinator, PASSWORD).status_code == 302
    assert "Abmelden" in text(elsewhere.get("/"))


def test_a_language_chosen_before_logging_in_is_kept_by_the_login(make_app):
    app = make_app(default_locale="en")
    with app.app_context():
        world = build_world()
    browser = Browser(app.test_client())
    choose(browser, "de")
    assert browser.login(world.coordinator, PASSWORD).status_code == 302
    assert "Abmelden" in text(browser.get("/"))


def test_a_language_that_is_not_offered_is_refused(make_app):
    browser = Browser(make_app().test_client())
    assert choose(browser, "fr").status_code == 400
    assert choose(browser, "de", "https://elsewhere.example/").headers["Location"] == "/"


def test_a_budget_typed_the_german_way_is_saved_and_shown_the_german_way(app):
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    choose(browser, "de", editor(draft))
    page = browser.get(editor(draft)).get_data(as_text=True)
    action = f"/proposals/{draft.proposal_id}/budget"
    coordinator, partner = draft.coordinator_member_id, draft.partner_member_id

    saved = post(
        browser,
        action,
        {
            "base_revision": form_value(page, action, "base_revision"),
            f"public-m{coordinator}-y1": "1.200.000",
            f"own-m{coordinator}-y1": "300.000,50 €",
            f"public-m{partner}-y1": "80000",
            f"own-m{partner}-y1": "40.000",
        },
    )

    assert saved.status_code in (302, 303), text(saved)[-2000:]
    with app.app_context():
        lines = db.session.scalars(
            sa.select(BudgetLine).where(
                BudgetLine.submission_id == draft.submission_id, BudgetLine.year == 1
            )
        ).all()
        assert sorted((line.public_funding, line.own_contribution) for line in lines) == [
            (Decimal("80000.00"), Decimal("40000.00")),
            (Decimal("1200000.00"), Decimal("300000.50")),
        ]
    shown = text(browser.get(editor(draft)))
    assert "1.200.000\u00a0€" in shown
    assert "Summe 1.620.000\u00a0€; Anteil privater Mittel 21\u00a0%." in shown


@pytest.mark.parametrize(
    ("locale", "saved", "to_do"),
    [("en", "Saved at", "things to do:"), ("de", "Gespeichert um", "Punkte zu erledigen:")],
)
def test_an_autosave_answers_with_the_servers_berlin_time_in_the_persons_language(
    app, locale, saved, to_do
):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser = log_in(app, world.coordinator)
    choose(browser, locale, editor(draft))

    answer = post(
        browser,
        section_url(draft),
        {"text": "Unsere Strategie.", "base_revision": "0"},
        headers={"Accept": "application/json"},
    )

    assert answer.status_code == 200
    # 24-hour Berlin time by the server's clock: the script only places the sentence.
    at = dt.datetime.fromisoformat(answer.json["saved_at"]).astimezone(BERLIN)
    assert answer.json["saved_note"] == f"{saved} {at:%H:%M:%S}"
    assert answer.json["to_do"].endswith(to_do)


def test_a_german_applicant_reads_the_editor_and_its_scripts_words_in_german(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser = log_in(app, world.coordinator)
    choose(browser, "de", editor(draft))

    page = text(browser.get(editor(draft)))

    block = re.search(r'<script type="application/json" id="editor-texts">(.*?)</script>', page)
    assert block, "the page hands its script no texts"
    texts = json.loads(block.group(1))
    assert texts["saving"] == "Wird gespeichert …"
    assert texts["unsaved"] == "Noch nicht gespeichert"
    assert texts["offline"].startswith("Nicht gespeichert: keine Verbindung.")
    # The counters' sentence, with the place for the count and the limit written the German way.
    assert 'data-text="{count} von 2.000 Zeichen"' in page
    assert 'data-text="{count} von 5.000 Zeichen"' in page
    assert "(Koordination)</span>" in page


def test_an_amount_in_millions_is_refused_at_its_cell_and_nothing_is_saved(app):
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        before = sorted(
            (line.member_id, line.year, line.public_funding)
            for line in db.session.scalars(
                sa.select(BudgetLine).where(BudgetLine.submission_id == draft.submission_id)
            )
        )
    browser = log_in(app, world.coordinator)
    choose(browser, "de", editor(draft))
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
    page = text(refused)
    assert 'aria-invalid="true"' in field_markup(page, f"public-m{coordinator}-y1")
    # The row's messages stand after its last cell.
    messages = field_markup(page, f"own-m{coordinator}-y1")
    assert "nicht in Millionen" in messages and "Dreiergruppen" in messages
    with app.app_context():
        after = sorted(
            (line.member_id, line.year, line.public_funding)
            for line in db.session.scalars(
                sa.select(BudgetLine).where(BudgetLine.submission_id == draft.submission_id)
            )
        )
    assert after == before


def test_the_receipt_mail_goes_out_in_the_recipients_language(app):
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        person = db.session.scalar(sa.select(User).where(User.email == world.coordinator))
        person.locale = "de"
        db.session.commit()
        version = submit(draft, world.coordinator)
        reference = version.receipt_code.split("-S")[0]
        (mail,) = mails("proposals/receipt")

        assert mail.subject == "Eingangsbestätigung: Ihr Antrag ist eingegangen"
        assert f"Ihr Antrag {reference} " in mail.body_text
        assert "Ihr Antrag" in mail.body_html and "Eingangsnummer:" in mail.body_text


def test_a_german_visitor_reads_forms_and_error_pages_in_german(make_app):
    browser = Browser(make_app(default_locale="de").test_client())

    login = text(browser.get("/login"))
    missing = browser.get("/no-such-page")

    assert "E-Mail-Adresse" in login and "Passwort" in login
    assert missing.status_code == 404
    assert "Nicht gefunden" in text(missing)
    assert "Unter dieser Adresse gibt es keine Seite." in text(missing)


def test_a_german_visitor_reads_a_calls_criteria_with_german_numbers(make_app):
    from competition.programmes.models import Criterion
    from tests.factories import make_call, make_stage

    app = make_app(default_locale="de")
    with app.app_context():
        call = make_call()
        stage = make_stage(call)
        db.session.add(
            Criterion(
                stage=stage,
                position=1,
                name="Exzellenz",
                weight=Decimal("0.4"),
                scale_min=Decimal(0),
                scale_max=Decimal(5),
                scale_step=Decimal("0.5"),
                threshold=Decimal("3.5"),
            )
        )
        db.session.commit()
        call_id = call.id

    page = text(Browser(app.test_client()).get(f"/calls/{call_id}"))

    assert "0–5 in Schritten von 0,5" in page and "3,5" in page and "0,4" in page
    assert "0.5" not in page and "3.5" not in page


def test_a_calendar_date_is_written_the_readers_way(app):
    import datetime as dt

    from flask_babel import force_locale

    from competition.i18n import local_date

    with app.test_request_context():
        with force_locale("de"):
            assert local_date(dt.date(2027, 3, 1)) == "01.03.2027"
        with force_locale("en"):
            assert local_date(dt.date(2027, 3, 1)) == "Mar 1, 2027"
        assert local_date(None) == ""


def test_words_and_numbers_follow_a_language_forced_within_a_request_and_return_after(make_app):
    from flask import render_template_string, session
    from flask_babel import force_locale, refresh

    from competition.i18n import current_language

    page = '{{ _("Open calls") }} {{ 3.5|number }} {{ current_language() }}'
    with make_app(default_locale="de").test_request_context():
        assert render_template_string(page) == "Offene Ausschreibungen 3,5 de"
        # A mail to an English reader written in the middle of a German page.
        with force_locale("en"):
            assert render_template_string(page) == "Open calls 3.5 en"
            with force_locale("de"):
                assert current_language() == "de"
            assert current_language() == "en"
        assert render_template_string(page) == "Offene Ausschreibungen 3,5 de"
        # A visitor's choice made during the request, the locale then chosen afresh.
        session["locale"] = "en"
        refresh()
        assert render_template_string(page) == "Open calls 3.5 en"
