"""The form an officer fills in for a topic of the programme's taxonomy: shape only. Names,
levels and uniqueness are checked by competition.programmes.topic_operations."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length

from competition.i18n import lazy_gettext as _l
from competition.programmes.models import TOPIC_KIND_LABELS, Topic


def _topic_id(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # no topic has it: the operation says so at the field


class TopicForm(FlaskForm):
    name_de = StringField(
        _l("German name"),
        validators=[InputRequired(_l("Enter the topic's German name.")), Length(max=200)],
    )
    name_en = StringField(
        _l("English name"),
        validators=[InputRequired(_l("Enter the topic's English name.")), Length(max=200)],
    )
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(kind, label) for kind, label in TOPIC_KIND_LABELS.items()],
        validate_choice=False,
    )
    parent_id = SelectField(_l("Part of"), coerce=_topic_id, validate_choice=False, default=None)

    def offer_parents(self, parents: list[Topic], *, top_level: str) -> None:
        """``parents``: the top-level topics a sub-topic may belong to."""
        self.parent_id.choices = [SelectChoice("", top_level)] + [
            SelectChoice(t.id, f"{t.name} ({t.kind.label})") for t in parents
        ]

    def fill(self, topic: Topic) -> None:
        self.name_de.data = topic.name_de
        self.name_en.data = topic.name_en
        self.kind.data = topic.kind.value
        self.parent_id.data = topic.parent_id

    def values(self) -> dict[str, Any]:
        return {
            "name_en": self.name_en.data or "",
            "name_de": self.name_de.data or "",
            "kind": self.kind.data or "",
            "parent_id": self.parent_id.data,
        }
