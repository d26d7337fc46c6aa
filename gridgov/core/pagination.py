"""The one pagination of every list in the API: ninja's limit/offset with both ends bounded.

Ninja leaves `offset` unbounded, and a number past the database's integer range is a server
error (SQLite: "datatype mismatch"); a page larger than MAX_LIMIT rows would let one request
read a district's registry at once. Bounded here, both are a 400 naming the field.
"""

from ninja import Field
from ninja.pagination import LimitOffsetPagination

from gridgov.core.schemas import Schema

PER_PAGE = 100
MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1


class Pagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(PER_PAGE, ge=1, le=MAX_LIMIT, description="rows per page")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description="rows to skip")

    def __init__(self, **kwargs):
        super().__init__(max_limit=MAX_LIMIT, **kwargs)
