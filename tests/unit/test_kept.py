"""What is kept per app is made once per key, the oldest goes first, and apps never share."""

from __future__ import annotations

from flask import Flask

from competition.kept import kept


def test_a_value_is_made_once_per_key_and_the_oldest_is_dropped_first():
    made: list[str] = []

    def make(key: str) -> str:
        made.append(key)
        return key.upper()

    with Flask(__name__).app_context():
        for key in ("a", "b", "a", "c", "a", "b"):
            assert kept("letters", key, lambda key=key: make(key), size=2) == key.upper()

    # "b" was the oldest when "c" came, so it was made again at the end.
    assert made == ["a", "b", "c", "b"]


def test_two_apps_keep_their_own():
    for _ in range(2):
        with Flask(__name__).app_context():
            assert kept("one", 1, lambda: object(), size=1) is kept("one", 1, object, size=1)
    first, second = Flask(__name__), Flask(__name__)
    with first.app_context():
        a = kept("one", 1, object, size=1)
    with second.app_context():
        assert kept("one", 1, object, size=1) is not a
