"""The core's texts reach each reader in their language, also after being stored."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from competition.core.texts import N_, Nn_, Text, load
from competition.i18n import say


def test_a_text_reads_as_english_without_translation():
    assert str(N_("Upload %(name)s.", name="the CVs")) == "Upload the CVs."
    assert str(Nn_("%(num)s seat", "%(num)s seats", 3)) == "3 seats"
    assert str(Nn_("%(num)s seat", "%(num)s seats", 1)) == "1 seat"


def test_a_stored_text_comes_back_with_its_values_and_nested_texts():
    inner = N_("Energy systems")
    text = Nn_("%(num)s proposal in %(topic)s", "%(num)s proposals in %(topic)s", 2, topic=inner)
    assert load(text.dumps()) == text


def test_a_time_in_a_text_reads_in_berlin_and_survives_storing(app):
    import datetime as dt

    text = N_("The deadline passed at %(time)s.", time=dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC))
    assert str(text) == "The deadline passed at 30.06.2026 12:00 CEST."
    with app.test_request_context(), force_locale("de"):
        assert say(load(text.dumps())).endswith("30.06.2026 12:00 MESZ.")


def test_a_text_stored_as_plain_english_before_reads_as_itself():
    assert load("Assigning jurors") == Text("Assigning jurors")
    assert load('{"t": broken') == Text('{"t": broken')


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en", "Keep the rationale under 20,000 characters."), ("de", "20.000")],
)
def test_said_texts_write_numbers_the_readers_way(app, locale, expected):
    text = N_("Keep the rationale under %(limit)s characters.", limit=20_000)
    with app.test_request_context(), force_locale(locale):
        assert expected in say(text.dumps())


@pytest.mark.parametrize(
    ("locale", "winter", "summer"),
    [
        ("en", "15.01.2027 00:00 CET", "30.06.2026 12:00 CEST"),
        ("de", "15.01.2027 00:00 MEZ", "30.06.2026 12:00 MESZ"),
    ],
)
def test_times_name_their_zone_as_the_reader_does(app, locale, winter, summer):
    import datetime as dt

    from competition.i18n import local_time

    with app.test_request_context(), force_locale(locale):
        assert local_time(dt.datetime(2027, 1, 14, 23, 0, tzinfo=dt.UTC)) == winter
        assert local_time(dt.datetime(2026, 6, 30, 10, 0, tzinfo=dt.UTC)) == summer


@pytest.mark.parametrize(("locale", "expected"), [("en", "12,000 pages"), ("de", "12.000 Seiten")])
def test_a_plural_text_is_said_with_its_count_written_the_readers_way(app, locale, expected):
    text = Nn_("%(num)s page", "%(num)s pages", 12_000)
    with app.test_request_context(), force_locale(locale):
        assert say(text) == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "1,200,000.00 EUR, 84.6 %, Bavaria, Saxony"),
        ("de", "1.200.000,00 €, 84,6 %, Bayern, Sachsen"),
    ],
)
def test_amounts_shares_and_lists_of_names_are_written_the_readers_way(app, locale, expected):
    from decimal import Decimal

    from competition.core.wording import joined, money, percent

    said = N_(
        "%(amount)s, %(share)s, %(states)s",
        amount=money(Decimal("1200000")),
        share=percent(Decimal("84.6")),
        states=joined([N_("Bavaria"), N_("Saxony")]),
    )
    with app.test_request_context(), force_locale(locale):
        assert say(said) == expected


@pytest.mark.parametrize(
    ("note", "english", "german"),
    [
        (
            "Impact mean 2.50 < threshold 3",
            "Impact mean 2.50 < threshold 3",
            "Impact: Mittelwert 2,50 < Schwelle 3",
        ),
        (
            "overall weighted total 3.00 < threshold 3.5",
            "overall weighted total 3.00 < threshold 3.5",
            "gewichtete Gesamtsumme 3,00 < Schwelle 3,5",
        ),
        ("few reviews", "few reviews", "wenige Gutachten"),
        ("outlier juror 17", "outlier juror 17", "Ausreißer-Gutachten von 17"),
        (
            "higher mean on Excellence",
            "higher mean on Excellence",
            "höherer Mittelwert bei Excellence",
        ),
        ("something else", "something else", "something else"),
    ],
)
def test_a_rankings_recorded_notes_read_in_the_readers_language(app, note, english, german):
    from competition.core.ranking import note_text

    with app.test_request_context():
        with force_locale("en"):
            assert say(note_text(note)) == english
        with force_locale("de"):
            assert say(note_text(note)) == german


@pytest.mark.parametrize("locale", ["de", "en"])
def test_scores_shares_and_amounts_are_written_as_babel_writes_them(app, locale):
    """The pages' own number writer (a ranking page writes a thousand) agrees with Babel's
    ``format_decimal``: separators, rounding half to even, signs, floats and decimals, with
    optional decimals (scores) and fixed ones (amounts with cents)."""
    import random
    from decimal import Decimal

    from babel.numbers import format_decimal

    from competition.i18n import number, written

    draw = random.Random(7)
    values: list[Decimal | float | int] = [0, -0.0, 0.04, -0.04, 0.05, 0.15, 2.5, 3.45, -3.45]
    values += [999.95, 1234567.891, 1e-9, 1e20, Decimal("1.25"), Decimal("-0.00"), -1000]
    values += [2.675, 1.005, -2.675, 1e16, 123456789.125, float("inf")]
    values += [draw.uniform(-1e7, 1e7) for _ in range(300)]
    values += [round(draw.uniform(-100, 100), draw.randint(0, 4)) for _ in range(300)]
    values += [
        Decimal(draw.randint(-(10**8), 10**8)).scaleb(-draw.randint(0, 5)) for _ in range(300)
    ]
    with app.test_request_context(), force_locale(locale):
        for digits in (0, 1, 2, 3):
            for fixed in (False, True):
                places = ("0" if fixed else "#") * digits
                pattern = "#,##0" + ("." + places if digits else "")
                for value in values:
                    expected = format_decimal(value, format=pattern, locale=locale)
                    assert written(value, locale, digits=digits, fixed=fixed) == expected, (
                        value,
                        pattern,
                    )
                    if not fixed:
                        assert number(value, digits) == expected
    with app.test_request_context(), force_locale("de"):
        assert number(1234.56) == "1.234,6"
        assert number(None) == "–"


def test_the_codes_texts_read_as_the_catalogue_translates_them(app):
    """The code's ``_`` and lazy labels read the request's catalogue, kept for the request:
    every message of the German catalogue reads as the compiled catalogue has it, a switch of
    language within a request (a letter in the recipient's language) is followed, and outside
    a request a text reads as itself."""
    from babel.messages.pofile import read_po
    from babel.support import Translations

    from competition.i18n import TRANSLATIONS, gettext, lazy_gettext
    from competition.organisations.models import FederalState

    with (TRANSLATIONS / "de/LC_MESSAGES/messages.po").open("rb") as source:
        ids = [m.id for m in read_po(source) if m.id and isinstance(m.id, str)]
    assert len(ids) > 1000
    german = Translations.load(str(TRANSLATIONS), ["de"])
    label = lazy_gettext("Bavaria")
    with app.test_request_context():
        with force_locale("de"):
            assert [gettext(msgid) for msgid in ids] == [german.ugettext(msgid) for msgid in ids]
            assert gettext("Ranking: %(stage)s", stage="Runde 1") == "Rangliste: Runde 1"
            assert str(label) == FederalState.BY.label == "Bayern"
            with force_locale("en"):
                assert gettext("Ranking: %(stage)s", stage="Round 1") == "Ranking: Round 1"
                assert str(label) == "Bavaria"
            assert str(label) == "Bayern"
    assert gettext("Ranking: %(stage)s", stage="Round 1") == "Ranking: Round 1"
    assert str(label) == "Bavaria"
