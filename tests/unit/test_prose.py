"""Applicants' text reads as prose: paragraphs at blank lines, lists where lines start with a
marker, and nothing the applicant typed ever taken as markup."""

from __future__ import annotations

from competition.prose import Block, blocks, prose


def test_a_blank_line_starts_a_new_paragraph_and_a_single_break_is_kept():
    text = "First line\nsame paragraph\n\n  \nSecond paragraph\r\n\r\nThird"

    assert blocks(text) == [
        Block("paragraph", (("First line", "same paragraph"),)),
        Block("paragraph", (("Second paragraph",),)),
        Block("paragraph", (("Third",),)),
    ]
    assert str(prose(text)) == (
        '<div class="prose"><p>First line<br>\nsame paragraph</p>'
        "<p>Second paragraph</p><p>Third</p></div>"
    )


def test_lines_with_dashes_stars_or_numbers_are_lists():
    text = "Our aims:\n- hydrogen hubs\n* new jobs\n  for the region\n\n3. first step\n4) second"

    assert blocks(text) == [
        Block("paragraph", (("Our aims:",),)),
        Block("bullets", (("hydrogen hubs",), ("new jobs", "for the region"))),
        Block("numbers", (("first step",), ("second",)), start=3),
    ]
    html = str(prose(text))
    assert "<p>Our aims:</p><ul><li>hydrogen hubs</li>" in html
    assert "<li>new jobs<br>\nfor the region</li></ul>" in html
    assert '<ol start="3"><li>first step</li><li>second</li></ol>' in html


def test_markup_typed_by_an_applicant_is_shown_not_run():
    text = "<script>alert('x')</script>\n- <b>bold</b> & more\n\n1. <img src=x onerror=alert(1)>"

    html = str(prose(text))

    assert "<script>" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<li>&lt;b&gt;bold&lt;/b&gt; &amp; more</li>" in html


def test_nothing_written_shows_nothing():
    assert str(prose(None)) == "" and str(prose(" \n\n ")) == ""
    assert blocks("-no space is not a list") == [
        Block("paragraph", (("-no space is not a list",),))
    ]
