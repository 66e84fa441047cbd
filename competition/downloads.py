"""Files the app hands out: one way to name them in ``Content-Disposition``.

Header values travel as Latin-1, so a name such as ``Łódź-Absichtserklärung.pdf`` cannot stand
in ``filename=`` as it is (gunicorn refuses the header and the person gets an error instead of
the file). The header carries an ASCII fallback in ``filename`` and the exact name in
``filename*`` (RFC 6266 and RFC 5987), which every current browser prefers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote

from flask import Response

_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._ ()+-]+")


def ascii_fallback(filename: str) -> str:
    """The name in plain ASCII: accents dropped (ä → a), other letters and quotes as ``_``."""
    decomposed = unicodedata.normalize("NFKD", filename)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = _NOT_PLAIN.sub("_", plain).strip(" .")
    return plain or "download"


def content_disposition(filename: str, *, inline: bool = False) -> str:
    name = "".join(c for c in filename if c.isprintable()).strip() or "download"
    kind = "inline" if inline else "attachment"
    fallback = ascii_fallback(name)
    if fallback == name:
        return f'{kind}; filename="{name}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def download(
    body: bytes | Iterable[bytes],
    *,
    filename: str,
    mimetype: str,
    inline: bool = False,
    private: bool = False,
) -> Response:
    """A response that hands out ``body`` under ``filename``; ``private`` keeps it out of
    every cache (letters, confidential documents)."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename, inline=inline)
    if private:
        response.headers["Cache-Control"] = "private, no-store"
    return response
