"""The application hashes passwords with argon2id at argon2-cffi's recommended strength. The test
suite hashes with less work (tests/conftest.py), so this is checked in a Python of its own."""

from argon2 import PasswordHasher, extract_parameters

from tests.unit.test_web_process_weight import ROOT, last_json_line

PROGRAM = """
import json
from competition.accounts.passwords import _DUMMY_HASH, hash_password
print(json.dumps([hash_password("a password of ten"), _DUMMY_HASH]))
"""


def test_the_application_hashes_passwords_at_full_strength(tmp_path):
    hashed, dummy = last_json_line(PROGRAM, tmp_path, cwd=ROOT)

    recommended = extract_parameters(PasswordHasher().hash("x"))
    assert extract_parameters(hashed) == recommended
    # An unknown address is checked against a hash as costly as a real one.
    assert extract_parameters(dummy) == recommended
    assert recommended.memory_cost >= 65536 and recommended.time_cost >= 3
