"""The decision letter's PDF, built from the frozen JSON alone (no database, no app): every part
of the letter is in its text, names keep their accents where a Unicode font exists and are
approximated in the PDF core font where none does, and the same letter gives the same bytes."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

from competition import pdf as documents
from competition.selection.letters import content as letters_content
from competition.selection.letters import pdf as letters_pdf

LETTER: dict[str, Any] = {
    "format": 1,
    "reference": "C4F-2026/0007",
    "acronym": "HYDRØ",
    "title": "Grüner Wasserstoff für die Lausitz – “Nord”",
    "programme": "Clusters4Future",
    "call": "Round 2",
    "stage": "Outline",
    "outcome": "advance",
    "headline": "Your proposal advances to the next stage",
    "explanation": "The programme has decided that it advances. " * 12,
    "next_stage": {
        "name": "Full proposal",
        "closes_at": "2027-03-01T11:00:00+00:00",
        "deadline": "01.03.2027 12:00 CET",
    },
    "scores": {
        "reviews": 3,
        "basis": "Each score is the mean of the jurors' scores in the 3 submitted reviews.",
        "criteria": [
            {
                "name": "Excellence",
                "description": "",
                "scale_min": "0",
                "scale_max": "5",
                "weight": "0.6",
                "score": "4.17",
                "consensus": False,
            },
            {
                "name": "Impact",
                "description": "",
                "scale_min": "1",
                "scale_max": "10",
                "weight": "0.4",
                "score": "7.50",
                "consensus": True,
            },
        ],
    },
    "comments": [
        {"juror": "Juror A", "text": "A budget of 2 M€ is plausible.\n\nThe partners fit."},
        {"juror": "Juror B", "text": "Clear milestones."},
    ],
    "published_at": "2026-11-21T12:00:00+00:00",
}


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_holds_every_part_of_the_letter():
    content = pdf_text(letters_pdf.render_pdf(LETTER))

    for expected in (
        "Clusters4Future · Round 2",
        "Published 21.11.2026 13:00 CET",
        "Your proposal advances to the next stage",
        "C4F-2026/0007 HYDRØ: Grüner Wasserstoff für die Lausitz – “Nord”",
        "Next stage: Full proposal, deadline 01.03.2027 12:00 CET",
        "Excellence 0 to 5 0.6 4.17",
        "Impact (panel consensus) 1 to 10 0.4 7.50",
        "Juror A",
        "A budget of 2 M€ is plausible.",
        "The partners fit.",
        "Juror B",
        "Clear milestones.",
    ):
        assert expected in content, expected


def test_without_a_unicode_font_the_core_font_approximates(monkeypatch):
    monkeypatch.setattr(documents, "FONT_DIRS", ())

    content = pdf_text(letters_pdf.render_pdf(LETTER))

    assert 'Grüner Wasserstoff für die Lausitz - "Nord"' in content  # Latin-1 keeps the umlauts
    assert "A budget of 2 MEUR is plausible." in content
    assert "HYDRØ" in content


def test_a_letter_without_comments_says_so():
    content = pdf_text(letters_pdf.render_pdf({**LETTER, "comments": []}))
    assert "The jurors left no comments for you." in content


def test_the_same_letter_gives_the_same_pdf():
    assert letters_pdf.render_pdf(LETTER) == letters_pdf.render_pdf(dict(LETTER))


@pytest.mark.parametrize(
    ("index", "label"),
    [(0, "Juror A"), (1, "Juror B"), (25, "Juror Z"), (26, "Juror AA"), (52, "Juror BA")],
)
def test_jurors_are_labelled_by_letter(index, label):
    assert letters_content.juror_label(index) == label


def test_the_file_name_is_safe_for_any_reference():
    assert letters_pdf.pdf_filename(LETTER) == "decision-C4F-2026-0007.pdf"
    hostile = letters_pdf.pdf_filename({**LETTER, "reference": '"; rm -rf /\r\n'})
    assert re.fullmatch(r"decision-[A-Za-z0-9._-]+\.pdf", hostile), hostile
