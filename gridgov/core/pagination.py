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


class LazyPage:
    """A queryset read one page at a time: Pagination slices it, and only that slice is read
    and turned into dicts. `out` maps one row; `out_page` a whole page (to fetch the page's
    related data in one query)."""

    def __init__(self, queryset, out=None, *, out_page=None):
        self.queryset = queryset
        self.out_page = out_page or (lambda rows: [out(row) for row in rows])

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, page):
        return self.out_page(list(self.queryset[page]))
