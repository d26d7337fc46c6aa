"""The one pagination of every list in the API: ninja's limit/offset with both ends bounded; and
the pages of the list pages that count no further than they must (`CappedPaginator`).

Ninja leaves `offset` unbounded, and a number past the database's integer range is a server
error (SQLite: "datatype mismatch"); a page larger than MAX_LIMIT rows would let one request
read a district's registry at once. Bounded here, both are a 400 naming the field.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property
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


class CappedPaginator(Paginator):
    """The pages of a list page that counts no further than `cap` rows. Counting a district's
    million cases costs more than reading the page shown; past the cap the count is a floor
    (`capped`: "more than 1,000: narrow the filters") and the pages stop there."""

    def __init__(self, object_list, per_page, cap: int = 1000, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def counted(self) -> int:
        # SELECT COUNT(*) FROM (… LIMIT cap + 1), unordered: ordered, PostgreSQL would find and sort
        # every match before it could stop at the cap (a text search over a million cases: 1.5 s).
        rows = self.object_list.order_by() if hasattr(self.object_list, "order_by") else self.object_list
        return rows[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self.counted, self.cap)

    @property
    def capped(self) -> bool:
        return self.counted > self.cap
