"""The receipt of a submitted version as a PDF: what the receipt page says (code, server time,
content hash, the documents' hashes), to keep or to file, in the reader's language."""

from __future__ import annotations

import re

from competition.berlin import berlin_time
from competition.i18n import gettext as _
from competition.pdf import Document
from competition.proposals.models import Proposal, SubmissionVersion


def receipt_filename(version: SubmissionVersion) -> str:
    code = re.sub(r"[^A-Za-z0-9._-]+", "-", version.receipt_code).strip("-")
    return f"receipt-{code or 'proposal'}.pdf"


def render_receipt_pdf(proposal: Proposal, version: SubmissionVersion) -> bytes:
    """The receipt page's content as a PDF; the same version gives the same bytes."""
    title = _("Receipt: your proposal was received")
    document = Document(
        title=f"{title}: {version.receipt_code}",
        author=version.submission.stage.call.programme.name,
        created=version.submitted_at,
    )
    document.para(
        f"{version.submission.stage.call.programme.name} · {version.submission.stage.call.name}",
        size=9,
        gap=6,
    )
    document.para(title, size=16, bold=True, gap=4)
    attachments = version.content.get("attachments") or ()
    documents = "\n".join(
        _(
            "%(filename)s (%(pages)s pages, SHA-256 %(hash)s)",
            filename=a["filename"],
            pages=a["page_count"],
            hash=a["sha256"],
        )
        for a in attachments
    )
    rows = (
        (_("Proposal"), f"{proposal.reference}: {proposal.acronym}, {proposal.title}"),
        (_("Stage"), version.submission.stage.name),
        (_("Receipt"), version.receipt_code),
        (_("Version"), str(version.number)),
        (_("Received at (server time)"), berlin_time(version.submitted_at, "%d.%m.%Y %H:%M:%S")),
        (_("Content hash (SHA-256)"), version.content_hash),
        (_("Documents"), documents or _("none")),
    )
    for label, value in rows:
        document.para(label, size=9, bold=True, gap=0.5)
        document.para(value, gap=3)
    document.para(
        _(
            "We have also sent this receipt by e-mail. Keep it: the hash is a fingerprint of "
            "exactly what you submitted."
        ),
        size=9.5,
        gap=0,
    )
    return document.output()
