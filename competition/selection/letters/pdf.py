"""The letter as a PDF (fpdf2), drawn from the frozen letter alone, and as the attachment of the
letter's e-mail. Its headings are in the letter's language, the recipient's at publication, so
that the document reads as one; a letter frozen before letters kept their language has them in
the reader's. The letter's own words stay as they were frozen."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import nullcontext
from typing import Any

from flask_babel import force_locale

from competition.i18n import gettext as _
from competition.i18n import local_time
from competition.notifications.mailer import Attachment
from competition.pdf import Document


def pdf_filename(letter: dict[str, Any]) -> str:
    reference = re.sub(r"[^A-Za-z0-9._-]+", "-", str(letter["reference"])).strip("-")
    return f"decision-{reference or 'letter'}.pdf"


def render_pdf(letter: dict[str, Any]) -> bytes:
    """The letter as a PDF, from the frozen JSON alone."""
    language = letter.get("language")
    with force_locale(language) if language else nullcontext():
        return _draw(letter)


def _draw(letter: dict[str, Any]) -> bytes:
    published = dt.datetime.fromisoformat(letter["published_at"])
    document = Document(
        title=f"{letter['headline']}: {letter['reference']}",
        author=letter["programme"],
        created=published,
    )
    para, clean = document.para, document.clean
    para(f"{letter['programme']} · {letter['call']}", size=9)
    para(_("Published %(when)s", when=local_time(published)), size=9, gap=6)
    para(letter["headline"], size=16, bold=True, gap=4)
    para(f"{letter['reference']} {letter['acronym']}: {letter['title']}", bold=True)
    para(_("Stage: %(stage)s", stage=letter["stage"]), gap=4)
    para(letter["explanation"], gap=4)
    if letter.get("conditions"):
        para(_("Conditions"), size=13, bold=True)
        para(letter["conditions"], gap=4)
    after = letter.get("next_stage")
    if after:
        para(
            _(
                "Next stage: %(stage)s, deadline %(deadline)s",
                stage=after["name"],
                deadline=after["deadline"],
            ),
            bold=True,
            gap=4,
        )

    scores = letter["scores"]
    para(_("Scores per criterion"), size=13, bold=True)
    para(scores["basis"], size=9.5, gap=3)
    document.font(10)
    with document.table(
        col_widths=(90, 35, 25, 30),
        text_align=("LEFT", "CENTER", "CENTER", "RIGHT"),
        first_row_as_headings=True,
    ) as table:
        for cells in (
            (_("Criterion"), _("Scale"), _("Weight"), _("Score")),
            *(
                (
                    c["name"] + (" " + _("(panel consensus)") if c["consensus"] else ""),
                    _("%(min)s to %(max)s", min=c["scale_min"], max=c["scale_max"]),
                    c["weight"],
                    c["score"] or _("no score"),
                )
                for c in scores["criteria"]
            ),
        ):
            row = table.row()
            for cell in cells:
                row.cell(clean(cell))
    document.pdf.ln(6)

    para(_("The jurors' comments"), size=13, bold=True)
    if not letter["comments"]:
        para(_("The jurors left no comments for you."))
    for comment in letter["comments"]:
        para(comment["juror"], bold=True, gap=1)
        para(comment["text"], gap=4)
    return document.output()


def mail_attachments(context: dict[str, Any]) -> list[Attachment]:
    """The ``selection/letter`` e-mail's attachment: the frozen letter as a PDF."""
    letter = context["letter"]
    return [Attachment(pdf_filename(letter), "application/pdf", render_pdf(letter))]
