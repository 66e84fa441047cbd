"""The application hashes passwords with argon2id at argon2-cffi's recommended strength. The test
suite hashes with less work (tests/conftest.py), so this is checked in a Python of its own."""

import json
import subprocess
import sys
from pathlib import Path

from argon2 import PasswordHasher, extract_parameters

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import json
from competition.accounts.passwords import _DUMMY_HASH, hash_password
print(json.dumps([hash_password("a password of ten"), _DUMMY_HASH]))
"""


def test_the_application_hashes_passwords_at_full_strength():
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    hashed, dummy = json.loads(done.stdout.strip().splitlines()[-1])

    recommended = extract_parameters(PasswordHasher().hash("x"))
    assert extract_parameters(hashed) == recommended
    # An unknown address is checked against a hash as costly as a real one.
    assert extract_parameters(dummy) == recommended
    assert recommended.memory_cost >= 65536 and recommended.time_cost >= 3
