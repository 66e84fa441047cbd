"""Uploaded attachments are judged by their content: a readable, unencrypted PDF without scripts,
within the size and page limits, is accepted; anything else is refused with a sentence the
applicant can act on, and nothing but UploadRefused ever comes out."""

import hashlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from competition.core import uploads
from competition.core.uploads import CheckedUpload, UploadLimits, UploadRefused, check_pdf
from tests.unit import upload_samples as samples

LIMITS = UploadLimits(max_bytes=256 * 1024, max_pages=10)
BAD_UPLOADS = samples.bad_uploads(max_bytes=256 * 1024, max_pages=10)
ONE_PAGE = samples.pdf_with_pages(1)
TWELVE_PAGES = samples.pdf_with_pages(12)
REFUSAL_CODES = {
    "empty",
    "too_large",
    "executable",
    "archive",
    "office_document",
    "image",
    "html",
    "not_pdf",
    "broken",
    "encrypted",
    "too_many_pages",
    "page_count_mismatch",
    "active_content",
    "too_complex",
}
FUZZ = settings(max_examples=200, deadline=None)


def refusal(data: bytes, *, filename: str = "upload.pdf", limits=LIMITS) -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        check_pdf(data, filename=filename, limits=limits)
    return caught.value


def assert_helpful(refused: UploadRefused) -> None:
    """One sentence for a person: says what is wrong and what to do, with no program output."""
    message = str(refused.message)
    assert message == str(refused)
    assert message[0].isupper() and message.endswith("."), message
    assert "\n" not in message and ". " not in message, message
    assert any(verb in message for verb in ("upload", "save", "export")), message
    for leak in ("Traceback", "Error", "Exception", "pypdf", 'File "', "\\x", "b'"):
        assert leak not in message, message


def assert_checked_or_refused(data: bytes) -> None:
    try:
        checked = check_pdf(data, filename="upload.pdf", limits=LIMITS)
    except UploadRefused as refused:
        assert refused.code in REFUSAL_CODES
        assert_helpful(refused)
    else:
        assert checked.page_count >= 1
        assert checked.sha256 == hashlib.sha256(data).hexdigest()


def test_there_are_many_kinds_of_bad_uploads_and_each_code_is_covered():
    assert len({bad.kind for bad in BAD_UPLOADS}) == len(BAD_UPLOADS) >= 15
    assert {bad.code for bad in BAD_UPLOADS} == REFUSAL_CODES - {"too_complex"}


@pytest.mark.parametrize("bad", BAD_UPLOADS, ids=lambda bad: bad.kind)
def test_malformed_upload_is_refused_with_its_code_and_a_helpful_message(bad):
    refused = refusal(bad.data, filename=bad.filename)

    assert refused.code == bad.code
    assert_helpful(refused)


@pytest.mark.parametrize("bad", BAD_UPLOADS, ids=lambda bad: bad.kind)
@pytest.mark.parametrize("filename", ["x.exe", "scan.jpg", "", "LETTER.PDF"])
def test_file_name_never_changes_the_decision(bad, filename):
    assert refusal(bad.data, filename=filename).code == bad.code


@pytest.mark.parametrize("filename", ["x.exe", "letter.docx", "", "noextension", "cv.PDF"])
def test_valid_pdf_is_accepted_whatever_its_name(filename):
    checked = check_pdf(ONE_PAGE, filename=filename, limits=LIMITS)

    assert checked.page_count == 1


def test_executable_named_pdf_is_refused_and_told_that_renaming_does_not_convert():
    refused = refusal(samples.windows_executable(), filename="report.pdf")

    assert refused.code == "executable"
    assert "Windows program" in str(refused.message)
    assert "renaming" in str(refused.message)
    assert "renaming" not in str(
        refusal(samples.windows_executable(), filename="setup.exe").message
    )


@pytest.mark.parametrize(
    ("data", "pages"),
    [(ONE_PAGE, 1), (samples.pdf_with_pages(10), 10), (samples.pdf_with_web_link(), 1)],
    ids=["one_page", "ten_pages", "web_link"],
)
def test_valid_pdf_is_accepted_with_its_page_count_size_and_sha256(data, pages):
    checked = check_pdf(data, filename="letter.pdf", limits=LIMITS)

    assert checked == CheckedUpload(
        content_type="application/pdf",
        size_bytes=len(data),
        page_count=pages,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def test_different_files_get_different_hashes():
    first = check_pdf(ONE_PAGE, filename="a.pdf", limits=LIMITS)
    second = check_pdf(TWELVE_PAGES, filename="a.pdf", limits=UploadLimits())

    assert first.sha256 != second.sha256
    assert len(first.sha256) == 64


def test_without_limits_any_size_and_page_count_is_accepted():
    checked = check_pdf(TWELVE_PAGES, filename="cv.pdf", limits=UploadLimits())

    assert checked.page_count == 12


def test_exactly_max_pages_is_accepted_and_one_more_is_refused():
    limits = UploadLimits(max_pages=12)

    assert check_pdf(TWELVE_PAGES, filename="cv.pdf", limits=limits).page_count == 12
    refused = refusal(samples.pdf_with_pages(13), limits=limits)
    assert refused.code == "too_many_pages"
    assert "13 pages" in str(refused.message) and "12 pages" in str(refused.message)


def test_a_one_page_limit_is_worded_in_the_singular():
    refused = refusal(samples.pdf_with_pages(2), limits=UploadLimits(max_pages=1))

    assert "at most 1 page is allowed" in str(refused.message)


def test_exactly_max_bytes_is_accepted_and_one_byte_more_is_refused():
    at_limit = UploadLimits(max_bytes=len(TWELVE_PAGES))
    below = UploadLimits(max_bytes=len(TWELVE_PAGES) - 1)

    assert check_pdf(TWELVE_PAGES, filename="cv.pdf", limits=at_limit).size_bytes == len(
        TWELVE_PAGES
    )
    assert refusal(TWELVE_PAGES, limits=below).code == "too_large"


def test_too_large_names_both_sizes_in_megabytes():
    mb = 1024 * 1024
    data = ONE_PAGE + b"%" + b" " * (3 * mb)

    refused = refusal(data, limits=UploadLimits(max_bytes=2 * mb))

    assert "3.0 MB" in str(refused.message) and "2.0 MB" in str(refused.message)


def test_too_large_by_a_few_bytes_shows_the_byte_counts_the_rounding_hides():
    mb = 1024 * 1024
    refused = refusal(ONE_PAGE + b"%" + b" " * (2 * mb), limits=UploadLimits(max_bytes=2 * mb))

    assert f"{2 * mb:,} bytes" in str(refused.message)
    assert f"{len(ONE_PAGE) + 1 + 2 * mb:,} bytes" in str(refused.message)


def test_size_is_checked_before_the_content():
    refused = refusal(samples.windows_executable(), limits=UploadLimits(max_bytes=100))

    assert refused.code == "too_large"


def test_a_pdf_must_begin_with_its_header_so_no_file_is_two_things_at_once():
    assert check_pdf(ONE_PAGE, filename="a.pdf", limits=LIMITS).page_count == 1
    assert refusal(b"\x00" * 16 + ONE_PAGE).code == "not_pdf"
    # Readers find the header anywhere in the first kilobyte; a browser runs the SVG's script.
    polyglot = refusal(samples.svg_pdf_polyglot())
    assert polyglot.code == "image" and "SVG" in str(polyglot.message)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (samples.pdf_with_submit_form_link(), "sends data to a server"),
        (samples.pdf_with_action(b"/S /ImportData /F (data.fdf)"), "reads data from another file"),
        (samples.pdf_with_action(b"/S /GoToR /F (x.pdf) /D [0 /Fit]"), "opens another file"),
        (samples.pdf_with_action(b"/S /GoToE /T << /R /C /N (a) >> /D [0 /Fit]"), "embedded file"),
        (samples.pdf_with_xfa_script(), "XFA form with scripts"),
        (samples.pdf_with_rich_media(), "RichMedia"),
    ],
    ids=[
        "submit-form",
        "import-data",
        "go-to-remote",
        "go-to-embedded",
        "xfa-script",
        "rich-media",
    ],
)
def test_actions_that_reach_beyond_the_document_are_refused_by_name(data: bytes, named: str):
    refused = refusal(data)
    assert refused.code == "active_content"
    assert named in str(refused.message)


def test_an_xfa_form_without_scripts_is_accepted():
    checked = check_pdf(samples.pdf_with_plain_xfa(), filename="form.pdf", limits=LIMITS)
    assert checked.page_count == 1


def test_a_page_count_that_does_not_match_the_pages_is_refused():
    refused = refusal(samples.pdf_with_kids(3, declared_count=1))
    assert refused.code == "page_count_mismatch"
    assert "says it has 1 page but holds 3 pages" in str(refused.message)


def test_page_limit_counts_the_pages_in_the_tree_not_the_declared_count():
    understated = samples.pdf_with_kids(12, declared_count=1)

    assert refusal(understated).code == "too_many_pages"
    assert "12 pages" in str(refusal(understated).message)


def test_ten_thousand_pages_are_handled_in_reasonable_time():
    data = samples.pdf_with_pages(10_000)

    started = time.perf_counter()
    refused = refusal(data, limits=UploadLimits(max_pages=20))
    refused_after = time.perf_counter() - started
    checked = check_pdf(data, filename="huge.pdf", limits=UploadLimits())
    counted_after = time.perf_counter() - started

    assert refused.code == "too_many_pages" and "10,000 pages" in str(refused.message)
    assert refused_after < 5
    assert checked.page_count == 10_000
    assert counted_after < 30


def test_scripts_are_found_in_the_objects_and_by_a_byte_scan():
    # Each sample is caught by one route only, so both routes are needed.
    escaped = samples.pdf_with_escaped_javascript_name()
    orphan = samples.pdf_with_orphan_javascript()

    assert b"/JavaScript" not in escaped and b"/JS" not in escaped
    assert refusal(escaped).code == "active_content"
    assert refusal(orphan).code == "active_content"


def test_a_file_too_complex_to_inspect_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_OBJECTS_VISITED", 20)

    refused = refusal(TWELVE_PAGES, limits=UploadLimits())

    assert refused.code == "too_complex"
    assert_helpful(refused)


def test_upload_refused_is_a_value_error_carrying_code_and_message():
    refused = UploadRefused("The file is empty; upload it again.", code="empty")

    assert isinstance(refused, ValueError)
    assert (refused.code, str(refused.message), str(refused)) == (
        "empty",
        "The file is empty; upload it again.",
        "The file is empty; upload it again.",
    )


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_are_checked_or_refused_never_crash(data):
    assert_checked_or_refused(data)


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_after_a_pdf_header_are_checked_or_refused(data):
    assert_checked_or_refused(b"%PDF-1.7\n" + data)


MUTATION_BASES = [
    samples.pdf_with_pages(3),
    samples.pdf_with_web_link(),
    samples.pdf_with_link_javascript(),
    samples.encrypted_pdf(user_password=""),
]


@st.composite
def damaged_pdfs(draw):
    data = bytearray(draw(st.sampled_from(MUTATION_BASES)))
    for _ in range(draw(st.integers(0, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    end = draw(st.integers(1, len(data)))
    return bytes(data[:end])


@FUZZ
@given(damaged_pdfs())
def test_damaged_pdfs_are_checked_or_refused_never_crash(data):
    assert_checked_or_refused(data)
