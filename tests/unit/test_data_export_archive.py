"""The archive of a person's data: names that unpack safely and never collide, readable JSON."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal

from competition.core.data_export import ExportedFile, archive, file_paths, safe_name


def test_names_cannot_climb_out_of_the_archive_and_lose_only_what_is_unsafe() -> None:
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("Förderantrag Übersicht.pdf") == "Forderantrag Ubersicht.pdf"
    assert safe_name("...") == "file"


def test_a_name_taken_twice_in_a_folder_is_numbered_before_its_extension() -> None:
    files = [
        ExportedFile("proposal C1-0001", "cv.pdf", b"1"),
        ExportedFile("proposal C1-0001", "cv.pdf", b"2"),
        ExportedFile("proposal C1-0002", "cv.pdf", b"3"),
        ExportedFile("proposal C1-0001", "notes", b"4"),
    ]
    assert file_paths(files) == [
        "attachments/proposal C1-0001/cv.pdf",
        "attachments/proposal C1-0001/cv-2.pdf",
        "attachments/proposal C1-0002/cv.pdf",
        "attachments/proposal C1-0001/notes",
    ]


def test_the_archive_holds_readme_json_and_files_and_is_the_same_for_the_same_data() -> None:
    data = {"at": dt.datetime(2027, 1, 2, 3, 4, tzinfo=dt.UTC), "amount": Decimal("1200000.00")}
    files = [ExportedFile("report C1-0001", "a.pdf", b"%PDF")]
    made, paths = archive(data, "Ihre Daten / Your data", files)
    zipped = zipfile.ZipFile(io.BytesIO(made))
    assert zipped.namelist() == ["README.txt", "data.json", *paths]
    assert json.loads(zipped.read("data.json")) == {
        "at": "2027-01-02T03:04:00+00:00",
        "amount": "1200000.00",
    }
    assert zipped.read(paths[0]) == b"%PDF"
    assert archive(data, "Ihre Daten / Your data", files)[0] == made
