"""The documents the app draws as PDF (decision letters, receipts), with fpdf2: one A4 page set-up,
a Unicode font where the system has one, and plain paragraphs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

# A Unicode font where the system has one (names, quotes and dashes as typed); otherwise the PDF
# core font, which knows Latin-1 only.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
_LATIN1_STANDINS = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "…": "...", "€": "EUR"}
)


def unicode_font() -> tuple[Path, Path] | None:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class Document:
    """An A4 document with paragraphs of plain text; ``pdf`` is the fpdf2 object for tables."""

    def __init__(self, *, title: str, author: str, created: dt.datetime) -> None:
        from fpdf import FPDF

        self.pdf = pdf = FPDF(format="A4")
        pdf.set_creation_date(created)
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_creator("Funding competitions")
        pdf.set_auto_page_break(auto=True, margin=18)
        fonts = unicode_font()
        self.unicode = fonts is not None
        if fonts is not None:
            pdf.add_font("Document", "", fonts[0])
            pdf.add_font("Document", "B", fonts[1])
            self.family = "Document"
        else:
            self.family = "helvetica"
        pdf.add_page()

    def clean(self, text: str) -> str:
        """The text as the font can draw it."""
        if self.unicode:
            return text
        return text.translate(_LATIN1_STANDINS).encode("latin-1", "replace").decode("latin-1")

    def para(self, text: str, *, size: float = 10.5, bold: bool = False, gap: float = 2) -> None:
        from fpdf.enums import XPos, YPos

        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.multi_cell(
            0, size * 0.5, self.clean(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.pdf.ln(gap)

    def font(self, size: float, *, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    def table(self, **options: Any) -> Any:
        return self.pdf.table(**options)

    def output(self) -> bytes:
        return bytes(self.pdf.output())
