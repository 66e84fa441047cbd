"""Logging that carries ids, never secrets: links in e-mails hold tokens, and servers log paths."""

from __future__ import annotations

import logging
import re

# Paths whose last segment is a signed token (confirmation, reset, invitation links).
_TOKEN_PATH = re.compile(r"(/(?:confirm|password/reset|invitations)/)[^\s?\"']+")
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install() -> None:
    # pypdf warns about every damaged upload; the refusal message already tells the applicant.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
