"""Downloads keep their names, whatever the script: an ASCII ``filename`` for old clients and
the exact name in ``filename*``, in a header that travels as Latin-1."""

from __future__ import annotations

import pytest
from werkzeug.http import parse_options_header

from competition.downloads import ascii_fallback, content_disposition


@pytest.mark.parametrize(
    "name",
    [
        "Łódź-Absichtserklärung.pdf",
        "Lebenslauf 📄.pdf",
        "Проект.pdf",
        'quote"and\\backslash.pdf',
        "C4F-2026-001 (Skizze).pdf",
    ],
)
def test_the_header_carries_the_exact_name_and_a_latin_1_safe_fallback(name: str):
    header = content_disposition(name)

    header.encode("latin-1")  # what a WSGI server sends; raises if it cannot
    kind, options = parse_options_header(header)
    assert kind == "attachment"
    # werkzeug prefers filename* like a browser; the fallback stands beside it.
    assert options["filename"] == name
    assert "\r" not in header and "\n" not in header


def test_a_plain_name_is_written_once_and_a_letter_inline():
    assert content_disposition("ranking.xlsx") == 'attachment; filename="ranking.xlsx"'
    assert content_disposition("letter.pdf", inline=True).startswith("inline;")


def test_the_fallback_drops_accents_and_replaces_what_ascii_cannot_say():
    assert ascii_fallback("Łódź-Absichtserklärung.pdf") == "_odz-Absichtserklarung.pdf"
    assert ascii_fallback("📄📄") == "_"
    assert ascii_fallback('a"b\\c.pdf') == "a_b_c.pdf"


def test_control_characters_never_reach_the_header():
    header = content_disposition("cv\r\nSet-Cookie: x=1.pdf")
    assert "\r" not in header and "\n" not in header
