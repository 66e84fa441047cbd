"""Field types shared by the API's schemas."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from marshmallow import fields


class Amount(fields.Decimal):
    """Money as a decimal string ("250000.00"), never a float."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(places=2, as_string=True, **kwargs)


def enum_of(values: Iterable[enum.Enum]) -> dict[str, Any]:
    """A string field's ``metadata``: the enum's values, for the description."""
    return {"enum": [value.value for value in values]}


def register_fields(api: Any) -> None:
    api.register_field(Amount, "string", "decimal")
