"""Field types shared by the API's schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import fields


class Amount(fields.Decimal):
    """Money as a decimal string ("250000.00"), never a float."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(places=2, as_string=True, **kwargs)


def register_fields(api: Any) -> None:
    api.register_field(Amount, "string", "decimal")
