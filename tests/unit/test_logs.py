import logging

from competition.logs import RedactTokens, redact


def test_tokens_in_logged_paths_are_redacted():
    line = '127.0.0.1 - - "GET /password/reset/abc.def-ghi HTTP/1.1" 200'
    assert redact(line) == '127.0.0.1 - - "GET /password/reset/[redacted] HTTP/1.1" 200'
    assert "xyz" not in redact("GET /confirm/xyz.1.2?next=/ HTTP/1.1")
    assert redact("GET /invitations/t0k3n") == "GET /invitations/[redacted]"


def test_paths_without_tokens_are_left_alone():
    assert redact("GET /proposals?page=2 HTTP/1.1") == "GET /proposals?page=2 HTTP/1.1"


def test_the_filter_rewrites_access_log_records():
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '"%s" %s',
        ("GET /confirm/secret HTTP/1.1", 302),
        None,
    )
    assert RedactTokens().filter(record)
    assert "secret" not in record.getMessage()
    assert "/confirm/[redacted]" in record.getMessage()
