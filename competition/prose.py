"""Applicants' text shown as prose: jurors and officers read sections, abstracts and comments
as paragraphs and lists, not as a typed-in block.

The applicant types plain text; nothing they write is ever taken as markup. A blank line starts
a new paragraph; lines starting with "- ", "* " or "1. " make a list; a line break inside a
paragraph is kept, because applicants use it on purpose (addresses, short lines of figures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup, escape

_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBER = re.compile(r"^\s*(\d{1,6})[.)]\s+(.*)$")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")


Kind = Literal["paragraph", "bullets", "numbers"]


@dataclass(frozen=True)
class Block:
    """A paragraph (its lines) or a list (its items, each of one or more lines)."""

    kind: Kind
    items: tuple[tuple[str, ...], ...]
    start: int = 1  # the first number of a numbered list


def _marked(line: str) -> tuple[Kind, str, int] | None:
    """A list item's kind, text and number, or None for a line of a paragraph."""
    if bullet := _BULLET.match(line):
        return "bullets", bullet.group(1), 1
    if number := _NUMBER.match(line):
        return "numbers", number.group(2), int(number.group(1))
    return None


def blocks(text: str | None) -> list[Block]:
    """``text`` cut into paragraphs and lists. A line that follows a list item without a marker
    of its own continues that item."""
    found: list[Block] = []
    normalised = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    for chunk in _BLANK_LINES.split(normalised):
        runs: list[tuple[Kind, list[list[str]], int]] = []
        for line in (line.strip() for line in chunk.split("\n")):
            if not line:
                continue
            marked = _marked(line)
            last = runs[-1] if runs else None
            if marked is not None:
                kind, words, number = marked
                if last is None or last[0] != kind:
                    runs.append((kind, [], number))
                runs[-1][1].append([words])
            elif last is not None and last[0] != "paragraph":
                last[1][-1].append(line)
            elif last is not None:
                last[1][0].append(line)
            else:
                runs.append(("paragraph", [[line]], 1))
        found += [Block(kind, tuple(map(tuple, items)), start) for kind, items, start in runs]
    return found


def _lines(lines: tuple[str, ...]) -> str:
    return "<br>\n".join(str(escape(line)) for line in lines)


def prose(text: str | None) -> Markup:
    """``text`` as HTML paragraphs and lists, every word of it escaped."""
    html: list[str] = []
    for block in blocks(text):
        if block.kind == "paragraph":
            html.append(f"<p>{_lines(block.items[0])}</p>")
            continue
        tag = "ul" if block.kind == "bullets" else "ol"
        start = f' start="{block.start}"' if block.kind == "numbers" and block.start != 1 else ""
        items = "".join(f"<li>{_lines(item)}</li>" for item in block.items)
        html.append(f"<{tag}{start}>{items}</{tag}>")
    return Markup(f'<div class="prose">{"".join(html)}</div>') if html else Markup("")
