"""Amounts typed the German or the English way are read as meant, or refused with a reason."""

from decimal import Decimal

import pytest

from competition.core.amounts import AmountError, parse_amount


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("1.200.000", "de", "1200000"),
        ("1.200.000,00 €", "de", "1200000"),
        ("1200000", "de", "1200000"),
        ("1 200 000,50", "de", "1200000.50"),
        ("1\u202f200\u202f000 EUR", "de", "1200000"),
        ("42,9", "de", "42.9"),
        ("1.200", "de", "1200"),
        ("0", "de", "0"),
        ("-1.000", "de", "-1000"),
        ("1,200,000.00", "en", "1200000"),
        ("1200000", "en", "1200000"),
        ("1.5", "en", "1.5"),
        ("1,200", "en", "1200"),
        ("1.200,005", "de", "1200.005"),
    ],
)
def test_an_amount_is_read_as_the_person_meant_it(text, locale, expected):
    assert parse_amount(text, locale) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "locale", "reason"),
    [
        ("1,2 Mio.", "de", "not in millions"),
        ("1,2 Mio", "de", "not in millions"),
        ("2 million", "en", "not in millions"),
        ("1.5", "de", "groups of three"),
        ("12.00.000", "de", "groups of three"),
        ("1,5", "en", "groups of three"),
        ("1,2,3", "de", "like 1.200.000,00"),
    ],
)
def test_an_amount_that_could_be_misread_is_refused_with_the_reason(text, locale, reason):
    with pytest.raises(AmountError, match=reason):
        parse_amount(text, locale)


def test_an_empty_field_is_no_amount():
    assert parse_amount("  ", "de") is None
