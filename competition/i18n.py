"""German and English: which language a request speaks, its catalogues, and numbers, amounts
and dates as people of that language write them. Times are always Europe/Berlin."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from babel.core import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, has_app_context, has_request_context, session
from flask_babel import (
    Babel,
    Domain,
    LazyString,
    get_domain,
    get_locale,
    get_translations,
    ngettext,
)

from competition.berlin import berlin_time, iso_berlin
from competition.core.ranking import note_text
from competition.core.texts import Text, load

log = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
# Each language named in itself, as the switch in the header offers it.
LANGUAGES = {"de": "Deutsch", "en": "English"}
SESSION_KEY = "locale"
T = TypeVar("T")


def select_locale() -> str:
    """The signed-in person's choice, else the choice made before signing in, else the
    deployment's default. Never the browser's header alone: a shared office computer in
    English must not turn a German applicant's pages English."""
    if has_request_context():
        # Only a person already loaded for this request: loading one here would ask the
        # database, which the page saying that the database is away must not do.
        user = g.get("_login_user")
        if user is not None and user.is_authenticated and user.locale in LANGUAGES:
            return str(user.locale)
        chosen = session.get(SESSION_KEY)
        if chosen in LANGUAGES:
            return str(chosen)
    return str(current_app.extensions["settings"].default_locale)


def current_language() -> str:
    """The language this request speaks now (``force_locale`` included). Asked for every
    number and date a page writes (a thousand on a ranking page): kept with the locale."""
    name = _kept_with_locale("_current_language", str)
    return str(name or current_app.extensions["settings"].default_locale)


def _translations() -> Translations | NullTranslations:
    """The catalogue of the request's language, for the pages' ``_()`` and, through
    ``KeptDomain``, for every ``gettext`` and lazy text of the code."""
    found = _kept_with_locale(
        "_current_translations", lambda _locale: Domain.get_translations(get_domain())
    )
    translations: Translations | NullTranslations = (
        found if found is not None else Domain.get_translations(get_domain())
    )
    return translations


def gettext(string: str, **variables: object) -> str:
    """Flask-Babel's ``gettext`` (``string`` in the request's language, ``variables`` put in)
    through the catalogue kept for the request, several times faster than Flask-Babel's own."""
    translated = _translations().ugettext(string) if has_app_context() else string
    return translated % variables if variables else translated


def lazy_gettext(string: str, **variables: object) -> LazyString:
    """``gettext`` when the text is shown, not when it is defined (labels, form fields)."""
    return LazyString(gettext, string, **variables)


class KeptDomain(Domain):  # type: ignore[misc]
    """Flask-Babel's message domain with its catalogue kept per request and locale: its own
    lookup reads the request context several times for each message (~20 µs, ten times the
    kept one), and a page's code asks for a hundred (labels, chart titles, form fields)."""

    def get_translations(self) -> Translations | NullTranslations:
        if not has_app_context():
            return super().get_translations()
        return _translations()


def _kept_with_locale(name: str, make: Callable[[Locale], T]) -> T | None:
    """``make(locale)`` for the request's locale, kept on ``g`` under ``name`` with the locale
    object Flask-Babel chose and made again only when that object changes (``force_locale``,
    ``refresh``); None without a locale. Flask-Babel's own lookup reads the request context
    several times per call."""
    # Each use of the ``g`` proxy looks the request up again (~1 µs): once, for all below.
    here = g._get_current_object()  # type: ignore[attr-defined]
    locale: Locale | None = getattr(here.get("_flask_babel"), "babel_locale", None) or get_locale()
    if locale is None:
        return None
    kept = here.get(name)
    if kept is None or kept[0] is not locale:
        kept = (locale, make(locale))
        setattr(here, name, kept)
    value: T = kept[1]
    return value


def language_of(locale: str | None) -> str:
    """The language to write to a person in, given the one kept on their account (if any)."""
    if locale in LANGUAGES:
        return str(locale)
    return str(current_app.extensions["settings"].default_locale)


def compile_catalogues(directory: Path = TRANSLATIONS) -> None:
    """Compile every catalogue whose ``.mo`` is missing or older than its ``.po`` (compiled
    files are never committed; installing or starting the app makes them)."""
    for po_path in directory.glob("*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalogue = read_po(source, locale=po_path.parent.parent.name)
        # Each process its own file: several workers may start at once.
        temporary = mo_path.with_name(f"{mo_path.name}.{os.getpid()}.tmp")
        try:
            with temporary.open("wb") as target:
                write_mo(target, catalogue, use_fuzzy=False)
            temporary.replace(mo_path)
        except OSError as error:
            # A read-only installation has its catalogues compiled at install (make install).
            log.warning("could not compile %s: %s", po_path, error)
            continue
        log.info("compiled %s", mo_path)


def local_time(value: dt.datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
    """A time in Europe/Berlin with its zone as the reader names it (MEZ/MESZ, CET/CEST)."""
    return berlin_time(value, fmt, german=has_app_context() and current_language() == "de")


def time_left(deadline: dt.datetime | None) -> str:
    """How long until ``deadline`` by the server's clock, in words."""
    if deadline is None:
        return "–"
    seconds = int((deadline - dt.datetime.now(dt.UTC)).total_seconds())
    if seconds <= 0:
        return gettext("closed")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return ngettext("%(num)d day, %(hours)d h", "%(num)d days, %(hours)d h", days, hours=hours)
    if hours:
        return gettext("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    if minutes:
        return gettext("%(minutes)d min", minutes=minutes)
    return gettext("less than a minute")


def local_iso_time(value: str | None, fmt: str = "%d.%m.%Y %H:%M:%S") -> str:
    return iso_berlin(value, fmt, german=current_language() == "de")


# The languages and decimals written here; anything else is left to Babel.
_WRITTEN_LANGUAGES = frozenset({"de", "en"})
_WRITTEN_DIGITS = range(7)


def number(value: Decimal | float | int | None, digits: int = 1) -> str:
    """A score or a share: ``3,5`` in German, ``3.5`` in English; at most ``digits`` decimals."""
    if value is None:
        return "–"
    return written(value, current_language(), digits=digits)


def written(
    value: Decimal | float | int, language: str, *, digits: int, fixed: bool = False
) -> str:
    """``value`` with the separators of ``language``, rounded to ``digits`` decimals (half to
    even); trailing zeros dropped unless ``fixed``: what Babel's ``format_decimal`` writes with
    the pattern ``#,##0.##`` (``#,##0.00`` when ``fixed``), without it: a ranking page writes a
    thousand numbers, and Babel parses its pattern and the locale again for each."""
    if isinstance(value, float) and language in _WRITTEN_LANGUAGES and digits in _WRITTEN_DIGITS:
        # Babel rounds the float's shortest decimal (``repr``), Python's format the binary
        # value: the two differ only where that decimal ends in a tie (2.675 to two places),
        # so all else is formatted directly, several times faster than through ``Decimal``.
        shortest = repr(value)
        if "e" not in shortest and "n" not in shortest:
            fraction = shortest.partition(".")[2]
            if fraction[digits:] != "5":
                return _separated(f"{value:,.{digits}f}", language, digits=digits, fixed=fixed)
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    if language not in _WRITTEN_LANGUAGES or digits not in _WRITTEN_DIGITS or not exact.is_finite():
        places = ("0" if fixed else "#") * digits
        return format_decimal(
            value, format="#,##0" + ("." + places if digits else ""), locale=language
        )
    shown = _separated(f"{abs(exact):,.{digits}f}", language, digits=digits, fixed=fixed)
    return "-" + shown if exact.is_signed() else shown


def _separated(formatted: str, language: str, *, digits: int, fixed: bool) -> str:
    """Python's ``,.Nf`` output with trailing zeros dropped unless ``fixed``, in the
    separators of ``language`` (English writes 1,234.5, German 1.234,5)."""
    if digits and not fixed:
        formatted = formatted.rstrip("0").rstrip(".")
    if language != "de":
        return formatted
    if "," not in formatted:
        return formatted.replace(".", ",")
    return formatted.replace(",", " ").replace(".", ",").replace(" ", ".")


def percent(value: Decimal | float | int | None, digits: int = 1) -> str:
    """A share given in per cent: ``42,9 %`` in German, ``42.9%`` in English."""
    if value is None:
        return "–"
    shown = number(value, digits)
    return f"{shown}\u00a0%" if current_language() == "de" else f"{shown}%"


def local_date(value: dt.date | None) -> str:
    """A calendar date (a grant's start, a milestone) as the reader writes it: 06.12.2026 in
    German, Dec 6, 2026 in English. No time zone: a date is the same day everywhere."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return str(format_date(value, format="medium", locale=current_language()))


def say(text: Text | str | None, capital: bool = False) -> str:
    """A core ``Text`` (or one stored with ``Text.dumps``) in the reader's language; its
    numbers written the reader's way. ``capital``: a clause shown as a sentence of its own
    starts with a capital letter (only the translation can be given one)."""
    if text is None:
        return ""
    said = _say(text)
    return said[:1].upper() + said[1:] if capital else said


def _say(text: Text | str) -> str:
    if isinstance(text, str):
        text = load(text)
    values = {name: _said(value) for name, value in text.params.items()}
    if text.plural is not None:
        # Not flask_babel's ngettext: it would put the count in again, as ``num``, unformatted.
        form = get_translations().ngettext(text.msgid, text.plural, text.count or 0)
        return str(form % values)
    if not values:
        return gettext(text.msgid) if text.msgid else ""
    return gettext(text.msgid, **values)


def _said(value: object) -> object:
    if isinstance(value, Text):
        return say(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime):
        return local_time(value)
    if isinstance(value, dt.date):
        return local_date(value)
    if isinstance(value, int):
        return number(value, 0)
    if isinstance(value, Decimal) and value.is_finite():
        # As many decimals as the core gave: an amount keeps its cents (1.200.000,00), a share
        # its one decimal (84,6).
        places = max(0, -int(value.as_tuple().exponent))
        return format_decimal(
            value,
            format="#,##0" + ("." + "0" * places if places else ""),
            locale=current_language(),
        )
    return value


def init_app(app: Flask) -> None:
    compile_catalogues()
    babel = Babel(
        app,
        locale_selector=select_locale,
        timezone_selector=lambda: "Europe/Berlin",
        default_translation_directories=str(TRANSLATIONS),
    )
    babel.domain_instance = KeptDomain()
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
    app.add_template_filter(number, "number")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(say, "say")
    app.add_template_filter(lambda note: say(note_text(note)), "note")
    app.add_template_filter(local_time, "berlin")
    app.add_template_filter(local_date, "day")
    app.add_template_filter(local_iso_time, "iso_berlin")
