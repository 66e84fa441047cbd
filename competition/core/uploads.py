"""Content checks for uploaded attachments (letters of intent, CVs, budget plans).

Every decision is taken from the bytes themselves, never from the file name or the content type
the browser declared: those are chosen by the uploader. The file name only shapes the wording of a
refusal, so that someone who renamed a Word file to .pdf learns why that did not work.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import re
from dataclasses import dataclass
from decimal import Decimal

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
)

from competition.core.texts import N_, Nn_, Text

logger = logging.getLogger(__name__)

PDF_CONTENT_TYPE = "application/pdf"

# Where other formats are recognised, to name them in the refusal.
HEADER_WINDOW = 1024
# Readers accept a PDF whose header appears anywhere in the first kilobyte, which lets a file be
# two things at once (an SVG with a script whose comment holds a PDF); only byte 0 counts here.
PDF_HEADER = b"%PDF-"

# Sizes are shown as the file managers most applicants use show them (Windows: 1 MB = 2**20 bytes).
_BYTES_PER_MB = 1024 * 1024

# Objects visited while looking for scripts; far more than a real application document needs, and
# small enough that a padded hostile file is refused in a few seconds.
MAX_OBJECTS_VISITED = 500_000

# Keys that only point back up the tree or into the tagging structure, where no action can live.
_SKIPPED_KEYS = frozenset({"/Parent", "/P", "/StructTreeRoot"})

_FORMATS: tuple[tuple[bytes, str, Text], ...] = (
    (b"MZ", "executable", N_("a Windows program")),
    (b"\x7fELF", "executable", N_("a Linux program")),
    (b"\xfe\xed\xfa\xce", "executable", N_("a macOS program")),
    (b"\xfe\xed\xfa\xcf", "executable", N_("a macOS program")),
    (b"\xce\xfa\xed\xfe", "executable", N_("a macOS program")),
    (b"\xcf\xfa\xed\xfe", "executable", N_("a macOS program")),
    (b"\xca\xfe\xba\xbe", "executable", N_("a macOS or Java program")),
    (b"#!", "executable", N_("a script")),
    (b"PK\x03\x04", "archive", N_("a ZIP archive or an Office document")),
    (b"PK\x05\x06", "archive", N_("a ZIP archive or an Office document")),
    (b"\x1f\x8b", "archive", N_("a compressed (gzip) archive")),
    (b"7z\xbc\xaf\x27\x1c", "archive", N_("a 7-Zip archive")),
    (b"Rar!\x1a\x07", "archive", N_("a RAR archive")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "office_document", N_("an older Office document")),
    (b"{\\rtf", "office_document", N_("a Rich Text (RTF) document")),
    (b"\x89PNG\r\n\x1a\n", "image", N_("a PNG image")),
    (b"\xff\xd8\xff", "image", N_("a JPEG image")),
    (b"GIF87a", "image", N_("a GIF image")),
    (b"GIF89a", "image", N_("a GIF image")),
    (b"II*\x00", "image", N_("a TIFF image")),
    (b"MM\x00*", "image", N_("a TIFF image")),
)

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"mif1", b"msf1"})

_HTML_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<(?:!doctype|html)", re.IGNORECASE)
_XML_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<(?:\?xml|svg)", re.IGNORECASE)
_XFA_SCRIPT = re.compile(rb"<(?:[\w-]+:)?script\b", re.IGNORECASE)

_ADVICE = {
    "executable": N_("check that you chose the right file and upload your document saved as PDF"),
    "archive": N_("export it as PDF and upload that file"),
    "office_document": N_(
        "export it as PDF (“Save as” → PDF in your office program) and upload that file"
    ),
    "image": N_(
        "convert it to PDF (for example with “Print” → “Save as PDF”) and upload that file"
    ),
    "html": N_("open it in a browser, choose “Print” → “Save as PDF” and upload that file"),
    "not_pdf": N_("save or export your document as PDF and upload that file"),
}

# What a reader may do on its own when the file is opened or clicked, by action type.
_ACTIONS = {
    "/JavaScript": N_("JavaScript"),
    "/Launch": N_("a command that starts another program"),
    "/SubmitForm": N_("a form that sends data to a server"),
    "/ImportData": N_("a form that reads data from another file"),
    "/GoToR": N_("a link that opens another file, which can leak a Windows reader's credentials"),
    "/GoToE": N_("a link into an embedded file"),
}
_ACTIVE_NAMES = {name.encode(): what for name, what in _ACTIONS.items()} | {
    b"/RichMedia": N_("embedded media (RichMedia)")
}


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int | None = None
    max_pages: int | None = None


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    size_bytes: int
    page_count: int
    sha256: str


class UploadRefused(ValueError):
    """An upload that cannot be accepted. `message` is one sentence for the applicant saying why
    and what to do (shown with ``say``; ``str()`` is the English); `code` is stable and meant for
    programs (tests, metrics, templates)."""

    def __init__(self, message: Text | str, *, code: str) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code


def check_pdf(data: bytes, *, filename: str, limits: UploadLimits) -> CheckedUpload:
    """Accept `data` as a readable PDF within `limits`, or raise UploadRefused.

    Refusal codes: empty, too_large, executable, archive, office_document, image, html, not_pdf,
    broken, encrypted, too_many_pages, page_count_mismatch, active_content, too_complex. Nothing
    else is raised, whatever the bytes are.
    """
    size = len(data)
    if size == 0:
        raise UploadRefused(
            N_("The file is empty; choose your document again and upload it."), code="empty"
        )
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise UploadRefused(_too_large_message(size, limits.max_bytes), code="too_large")
    _refuse_other_formats(data, filename=filename)
    reader = _open_pdf(data)
    page_count = _count_pages(reader, max_pages=limits.max_pages)
    _refuse_active_content(reader, data)
    return CheckedUpload(
        content_type=PDF_CONTENT_TYPE,
        size_bytes=size,
        page_count=page_count,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _too_large_message(size: int, max_bytes: int) -> Text:
    actual: Text = N_("%(size)s MB", size=_megabytes(size))
    allowed: Text = N_("%(size)s MB", size=_megabytes(max_bytes))
    if actual == allowed:
        actual = N_("%(size)s MB (%(bytes)s bytes)", size=_megabytes(size), bytes=size)
        allowed = N_("%(size)s MB (%(bytes)s bytes)", size=_megabytes(max_bytes), bytes=max_bytes)
    return N_(
        "The file is %(actual)s, but at most %(allowed)s is allowed; reduce its size (for "
        "example by compressing the images in it) and upload it again.",
        actual=actual,
        allowed=allowed,
    )


def _megabytes(size: int) -> Decimal:
    return Decimal(f"{size / _BYTES_PER_MB:.1f}")


def _refuse_other_formats(data: bytes, *, filename: str) -> None:
    """Name what the file really is when it is not a PDF, so the applicant knows what to do."""
    window = data[:HEADER_WINDOW]
    found = _identify(window)
    if found is None:
        if window.startswith(PDF_HEADER):
            return
        found = ("not_pdf", N_("plain text")) if _is_text(window) else ("not_pdf", None)
    code, description = found
    advice = _ADVICE[code]
    if filename.strip().lower().endswith(".pdf"):
        if description:
            message = N_(
                "The file is %(description)s, not a PDF (renaming a file to .pdf does not "
                "convert it); %(advice)s.",
                description=description,
                advice=advice,
            )
        else:
            message = N_(
                "The file is not a PDF (renaming a file to .pdf does not convert it); %(advice)s.",
                advice=advice,
            )
    elif description:
        message = N_(
            "The file is %(description)s, not a PDF; %(advice)s.",
            description=description,
            advice=advice,
        )
    else:
        message = N_("The file is not a PDF; %(advice)s.", advice=advice)
    raise UploadRefused(message, code=code)


def _identify(window: bytes) -> tuple[str, Text | None] | None:
    for magic, code, description in _FORMATS:
        if window.startswith(magic):
            return code, description
    if window[:4] == b"RIFF" and window[8:12] == b"WEBP":
        return "image", N_("a WebP image")
    if window[4:8] == b"ftyp" and window[8:12] in _HEIC_BRANDS:
        return "image", N_("a HEIC photo")
    if _HTML_START.match(window):
        return "html", N_("a web page (HTML)")
    if _XML_START.match(window):
        return "image", N_("an SVG image or another XML document")
    return None


def _is_text(window: bytes) -> bool:
    try:
        # final=False: the window may end in the middle of a multi-byte character.
        text = codecs.getincrementaldecoder("utf-8")().decode(window, final=False)
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\n\r\f\ufeff" for ch in text)


def _broken() -> UploadRefused:
    return UploadRefused(
        N_(
            "The file is damaged or is not a complete PDF; save or export your document as PDF "
            "again and upload the new file."
        ),
        code="broken",
    )


def _encrypted() -> UploadRefused:
    return UploadRefused(
        N_(
            "The PDF is password-protected, and password-protected PDFs cannot be read by the "
            "jury; save it without a password and upload it again."
        ),
        code="encrypted",
    )


def _open_pdf(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    # pypdf raises far more than its own errors on hostile input (ValueError, KeyError,
    # RecursionError, zlib.error, NotImplementedError...); any failure means "unreadable".
    except Exception as exc:
        logger.debug("pdf cannot be opened: %s", type(exc).__name__)
        # Without the optional cryptography package pypdf cannot even open AES-256 files (the
        # Acrobat default), and it rejects certificate encryption: both are password-protected.
        if b"/Encrypt" in data:
            raise _encrypted() from None
        raise _broken() from None
    # Refused even when the user password is empty: readers open such a file silently, but it
    # still carries restrictions and a key that later processing may not handle.
    if reader.is_encrypted:
        raise _encrypted()
    return reader


def _count_pages(reader: PdfReader, *, max_pages: int | None) -> int:
    try:
        declared = _declared_page_count(reader)
        # A page tree declaring too many pages is refused without walking it all.
        count = declared if max_pages is not None and declared > max_pages else len(reader.pages)
    except Exception as exc:
        logger.debug("pdf page tree unreadable: %s", type(exc).__name__)
        raise _broken() from None
    if count < 1:
        raise _broken()
    if max_pages is not None and count > max_pages:
        raise UploadRefused(
            Nn_(
                "The PDF has %(count)s pages, but at most %(num)s page is allowed; shorten it "
                "and upload it again.",
                "The PDF has %(count)s pages, but at most %(num)s pages are allowed; shorten it "
                "and upload it again.",
                max_pages,
                count=count,
            ),
            code="too_many_pages",
        )
    if count != declared:
        # Readers disagree on such a file: the jury could see other pages than the check did.
        raise UploadRefused(
            N_(
                "The PDF says it has %(declared)s but holds %(count)s, so readers may show "
                "different pages; save or print it to a new PDF and upload that file.",
                declared=_pages(declared),
                count=_pages(count),
            ),
            code="page_count_mismatch",
        )
    return count


def _pages(count: int) -> Text:
    return Nn_("%(num)s page", "%(num)s pages", count)


def _declared_page_count(reader: PdfReader) -> int:
    pages = _resolve(reader.root_object.get("/Pages"))
    count = _resolve(pages.get("/Count")) if isinstance(pages, DictionaryObject) else None
    return int(count) if isinstance(count, int) and count > 0 else 0


def _refuse_active_content(reader: PdfReader, data: bytes) -> None:
    try:
        found = _find_active_content(reader.root_object)
    except _TooComplex:
        raise UploadRefused(
            N_(
                "The PDF has too many internal parts to be checked; print it to a new PDF "
                "(“Print” → “Save as PDF”) and upload that file."
            ),
            code="too_complex",
        ) from None
    except Exception as exc:
        logger.debug("pdf objects unreadable: %s", type(exc).__name__)
        raise _broken() from None
    if found is None:
        # Objects pypdf could not reach (or did not need) may still be run by some reader.
        found = next((what for name, what in _ACTIVE_NAMES.items() if name in data), None)
    if found is not None:
        raise UploadRefused(
            N_(
                "For security reasons uploads may not contain %(found)s, but this PDF does; "
                "print it to a new PDF (“Print” → “Save as PDF”) and upload that file.",
                found=found,
            ),
            code="active_content",
        )


class _TooComplex(Exception):
    pass


def _find_active_content(root: DictionaryObject) -> Text | None:
    """Walk every object reachable from the catalogue (document and page actions, annotations,
    form fields, outlines, name trees) and describe the first script, launch or attachment."""
    stack: list[object] = [root]
    seen: set[tuple[int, int]] = set()
    visited = 0
    while stack:
        node = stack.pop()
        visited += 1
        if visited > MAX_OBJECTS_VISITED:
            raise _TooComplex
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            found = _describe_active(node)
            if found is not None:
                return found
            stack.extend(value for key, value in node.items() if key not in _SKIPPED_KEYS)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return None


def _describe_active(node: DictionaryObject) -> Text | None:
    action = _name(node, "/S")
    if action == "/JavaScript" or "/JS" in node or "/JavaScript" in node:
        return _ACTIONS["/JavaScript"]
    if action in _ACTIONS:
        return _ACTIONS[action]
    if "/EmbeddedFiles" in node or "/EF" in node or _name(node, "/Type") == "/EmbeddedFile":
        return N_("embedded files")
    if _name(node, "/Subtype") == "/RichMedia" or "/RichMediaContent" in node:
        return _ACTIVE_NAMES[b"/RichMedia"]
    if "/XFA" in node and _xfa_has_script(_resolve(node.get("/XFA"))):
        return N_("an XFA form with scripts")
    return None


def _xfa_has_script(xfa: PdfObject | None) -> bool:
    """An XFA form is one stream or an array of name, stream pairs; a script is an element."""
    parts = list(xfa) if isinstance(xfa, ArrayObject) else [xfa]
    for part in parts:
        stream = _resolve(part)
        if isinstance(stream, StreamObject) and _XFA_SCRIPT.search(stream.get_data()):
            return True
    return False


def _name(node: DictionaryObject, key: str) -> str | None:
    value = _resolve(node.get(key))
    return str(value) if isinstance(value, NameObject) else None


def _resolve(value: PdfObject | None) -> PdfObject | None:
    return value.get_object() if isinstance(value, IndirectObject) else value
