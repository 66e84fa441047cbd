"""Where a legal page's text comes from, and how it becomes safe HTML.

The operator puts ``<page>.<language>.md`` (``impressum.de.md``, ``datenschutz.en.md``, …) into
the legal folder: ``LEGAL_FOLDER`` or, without it, ``legal/`` in the instance folder. A page is
shown in the reader's language, else in the other; only when the operator has written neither
does the demo text shipped in ``competition/legal/defaults`` stand in, so that an operator's
German text is never hidden behind invented English.

The files are read as a small, safe subset of Markdown: ``#`` to ``###`` headings, paragraphs
separated by a blank line, lines starting with ``- `` as a list, web and e-mail addresses made
links. Everything else, HTML included, is shown as the text it is.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape

log = logging.getLogger(__name__)

DEFAULTS = Path(__file__).resolve().parent / "defaults"
PAGES = ("impressum", "datenschutz", "barrierefreiheit")
# Larger files are not a legal page but a mistake; they are not read.
MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class LegalText:
    html: Markup
    language: str  # the language it is written in, which may differ from the reader's
    supplied: bool  # written by the operator, not the shipped demo text


def find_text(page: str, *, language: str, folder: Path) -> LegalText:
    """The page's text for a reader of ``language``; the shipped text when the operator gave
    none."""
    if page not in PAGES:
        raise KeyError(page)
    other = "en" if language == "de" else "de"
    for source, supplied in ((folder, True), (DEFAULTS, False)):
        for candidate in (language, other):
            path = source / f"{page}.{candidate}.md"
            text = _read(path)
            if text is not None:
                return LegalText(html=render(text), language=candidate, supplied=supplied)
    raise FileNotFoundError(f"no text for the legal page {page}")


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        # A broken file shows the next text rather than an error page on a page people need.
        log.warning("legal text %s unreadable: %s", path.name, type(error).__name__)
        return None


_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")
_ITEM = re.compile(r"^[-*]\s+(.*)$")
_LINK = re.compile(
    r"(?P<url>https?://[^\s<>\"']+[^\s<>\"'.,;:!?)])"
    r"|(?P<mail>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)


def _inline(text: str) -> str:
    """One line or paragraph, escaped, its web and e-mail addresses as links."""
    out, last = [], 0
    for match in _LINK.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        shown = str(escape(match.group(0)))
        href = shown if match.group("url") else f"mailto:{shown}"
        out.append(f'<a href="{href}">{shown}</a>')
        last = match.end()
    out.append(str(escape(text[last:])))
    return "".join(out)


def render(text: str) -> Markup:
    """The safe subset of Markdown as HTML. The page's own title is its ``<h1>``, so the file's
    headings start at ``<h2>``."""
    blocks: list[str] = []
    paragraph: list[str] = []  # the lines of the paragraph being read
    items: list[str] = []  # the items of the list being read

    def close() -> None:
        if paragraph:
            blocks.append("<p>" + "<br>\n".join(paragraph) + "</p>")
        if items:
            blocks.append("<ul>\n" + "\n".join(f"<li>{i}</li>" for i in items) + "\n</ul>")
        paragraph.clear()
        items.clear()

    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        heading = _HEADING.match(line)
        item = _ITEM.match(line)
        if not line or heading:
            close()
            if heading:
                level = len(heading.group(1)) + 1
                blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif item:
            if paragraph:
                close()
            items.append(_inline(item.group(1)))
        else:
            if items:
                close()
            paragraph.append(_inline(line))
    close()
    return Markup("\n".join(blocks))
