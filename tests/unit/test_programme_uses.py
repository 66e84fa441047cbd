"""Programmes read what the areas above them hold only through readers those areas register;
a reader nobody registered fails loudly, so that no rule change goes unchecked."""

from __future__ import annotations

import pytest
from flask import Flask

from competition.programmes import uses
from competition.programmes.models import Stage


def test_a_reader_nobody_registered_fails_instead_of_answering_nothing():
    with (
        Flask(__name__).app_context(),
        pytest.raises(RuntimeError, match="stages_with_submissions"),
    ):
        uses.stage_has_submissions(Stage(id=7))


def test_a_registered_reader_answers_for_the_programme():
    app = Flask(__name__)
    uses.register(app, "stages_with_submissions", lambda ids: {i for i in ids if i == 7})
    with app.app_context():
        assert uses.stage_has_submissions(Stage(id=7))
        assert not uses.stage_has_submissions(Stage(id=8))


def test_an_unknown_reader_is_refused_at_registration():
    with pytest.raises(ValueError, match="proposals_in_cals"):
        uses.register(Flask(__name__), "proposals_in_cals", lambda ids: {})
