import pytest

from competition.core.workflow import CALL, IllegalStep, actions_from, next_state


def test_a_call_is_published_closed_and_reopened():
    assert next_state(CALL, "draft", "publish") == "published"
    assert next_state(CALL, "published", "close") == "closed"
    assert next_state(CALL, "closed", "reopen") == "published"


@pytest.mark.parametrize(
    ("state", "action"),
    [("draft", "close"), ("closed", "publish"), ("published", "publish"), ("draft", "delete")],
)
def test_illegal_steps_raise(state, action):
    with pytest.raises(IllegalStep):
        next_state(CALL, state, action)


def test_the_actions_offered_are_the_table_entries():
    assert actions_from(CALL, "draft") == ["publish"]
    assert actions_from(CALL, "published") == ["close"]
    assert actions_from(CALL, "closed") == ["reopen"]
