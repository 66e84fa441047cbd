"""The German catalogue holds every text the code and templates mark for translation, none of
them fuzzy or empty; a text added in English without its German fails here."""

from __future__ import annotations

import html
import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "competition" / "translations" / "de" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "lazy_gettext": None,
    "_l": None,
    "lazy_ngettext": (1, 2),
    "N_": None,
    "Nn_": (1, 2),
}


def marked_texts() -> dict[str, str]:
    """Every marked text (its first form for plurals), with where it was found."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, str] = {}
    for filename, line, message, *_ in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        text = message if isinstance(message, str) else message[0]
        if text:
            found.setdefault(text, f"{filename}:{line}")
    return found


def test_every_marked_text_has_its_german_translation():
    with CATALOGUE.open("rb") as source:
        catalogue = read_po(source, locale="de")
    missing = []
    for text, where in sorted(marked_texts().items()):
        entry = catalogue.get(text)
        translated = entry is not None and (
            all(entry.string) if isinstance(entry.string, tuple) else bool(entry.string)
        )
        if not translated or entry.fuzzy:
            missing.append(f"{where}: {text!r}")
    assert not missing, "without German (or fuzzy):\n" + "\n".join(missing[:40])


def test_the_catalogue_has_no_fuzzy_entries():
    with CATALOGUE.open("rb") as source:
        catalogue = read_po(source, locale="de")
    assert not [m.id for m in catalogue if m.id and m.fuzzy]


# Jinja's own syntax, and what a person does not read as text: scripts, styles and codes.
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_HIDDEN = re.compile(r"<(script|style|code)\b.*?</\1>", re.S)
_TAG = re.compile(r"<[^>]*>", re.S)
_READ_ATTRIBUTES = re.compile(r'\b(title|aria-label|placeholder|alt)="([^"]*)"')
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß]{2,}")
_ADDRESS = re.compile(r"\S*[/@]\S*")  # links and addresses in plain-text mail


def untranslated_text(path: Path) -> list[str]:
    source = _JINJA.sub("\x00", path.read_text(encoding="utf-8"))
    found = []
    if path.suffix == ".html":
        source = _HIDDEN.sub(" ", source)
        for tag in _TAG.findall(source):
            for name, value in _READ_ATTRIBUTES.findall(tag):
                if _WORD.search(value.replace("\x00", " ")):
                    found.append(f'{name}="{value}"')
        source = html.unescape(_TAG.sub(" ", source))
    else:
        source = _ADDRESS.sub(" ", source)
    for line in source.replace("\x00", " ").splitlines():
        if _WORD.search(line):
            found.append(line.strip())
    return found


def test_no_template_shows_text_outside_a_translation_call():
    problems = [
        f"{path.relative_to(ROOT)}: {text[:80]}"
        for path in sorted((ROOT / "templates").rglob("*"))
        if path.suffix in (".html", ".txt")
        for text in untranslated_text(path)
    ]
    assert not problems, "text outside _() or ngettext():\n" + "\n".join(problems[:40])


def test_every_translation_keeps_the_placeholders_of_its_text():
    """As `pybabel compile` checks at install: a translation naming a value its text does not
    have (or a mangled entry) would stop the installation."""
    with CATALOGUE.open("rb") as source:
        catalogue = read_po(source, locale="de")
    broken = [
        f"{m.lineno}: {m.id!r}: {errors}"
        for m in catalogue
        if m.id and (errors := m.check(catalogue))
    ]
    assert not broken, "\n".join(broken[:20])
