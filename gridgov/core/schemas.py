"""The base of every API schema, and schemas more than one app answers with.

OpenAPI names a schema by its class name, so two classes of one name would be documented as
whichever came last: share one instead (GridRef).
"""

import re
import types
import typing
from datetime import date, datetime
from functools import cache

import ninja
from pydantic import field_validator
from pydantic_core import PydanticCustomError

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@cache
def _scalar(annotation) -> type | None:
    """float, int, date or datetime behind `X` or `X | None`; None for anything else."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _scalar(kinds[0]) if len(kinds) == 1 else None
    return annotation if annotation in (float, int, bool, date, datetime) else None


class Schema(ninja.Schema):
    """Numbers must be numbers, truth values true or false, and dates ISO 8601 text. Pydantic's
    lax mode would read `false` as 0, `0` as false, and `0` or "0" as 1 January 1970, turning a
    client's mistake into a plausible value; the OpenAPI document promises a number, a boolean
    or a date, so anything else is a 400."""

    @field_validator("*", mode="before")
    @classmethod
    def _as_documented(cls, value, info):
        kind = _scalar(cls.model_fields[info.field_name].annotation)
        if kind in (float, int) and isinstance(value, bool):
            raise PydanticCustomError("number_type", "Enter a number.")
        if kind is bool and isinstance(value, int | float) and not isinstance(value, bool):
            raise PydanticCustomError("bool_type", "Enter true or false.")
        if kind in (date, datetime) and not isinstance(value, date) and value is not None:
            if not (isinstance(value, str) and _ISO_DATE.match(value)):
                raise PydanticCustomError("date_type", "Enter a date as YYYY-MM-DD.")
        return value


class GridRef(Schema):
    code: str
    name: str
