"""Types shared by every area: Money, the Relay Node interface, connections and page info."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from resolvers.pagination import Window, encode_cursor, resolve_from_end, window_from_args
from schema.scalars import Long

T = TypeVar("T")


@strawberry.type(description="An amount of money in minor units (cents) of an ISO-4217 currency.")
class Money:
    amount: Long = strawberry.field(description="Amount in minor units, e.g. 1999 for $19.99.")
    currency: str = strawberry.field(description="ISO-4217 currency code, e.g. `USD`.")


@strawberry.input(description="An amount of money in minor units of an ISO-4217 currency.")
class MoneyInput:
    amount: Long = strawberry.field(description="Amount in minor units; must not be negative.")
    currency: str = strawberry.field(default="USD", description="ISO-4217 currency code.")


@strawberry.interface(
    description="An object with a globally unique, prefixed ID (`prod_…`, `cat_…`) that "
    "`node(id:)` can fetch again."
)
class Node:
    id: strawberry.ID = strawberry.field(description="Globally unique ID.")


@strawberry.type(description="Where a page of a connection sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item, if any.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item, if any.")


@strawberry.type(description="An item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque cursor for `after`/`before`.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, in Relay's connection format.")
class Connection(Generic[T]):
    nodes: list[T] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Pagination details.")
    offset: strawberry.Private[int]
    count_items: strawberry.Private[Callable[[], Awaitable[int]]]
    known_total: strawberry.Private[int | None] = None

    @strawberry.field(description="The items of this page with their cursors.")
    def edges(self) -> list[Edge[T]]:
        return [
            Edge(cursor=encode_cursor(self.offset + index), node=node)
            for index, node in enumerate(self.nodes)
        ]

    @strawberry.field(description="Number of items in the whole list, filters applied.")
    async def total_count(self) -> int:
        if self.known_total is None:
            self.known_total = await self.count_items()
        return self.known_total


async def paginate(
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    fetch: Callable[[Window], Awaitable[Sequence[Any]]],
    count: Callable[[], Awaitable[int]],
    to_node: Callable[[Any], Any],
) -> Connection[Any]:
    """Run a connection query: one statement for the page (+1 row to detect a next page)."""
    window = window_from_args(first, after, last, before)
    total = None
    if window.needs_total:
        total = await count()
        window = resolve_from_end(window, total)
    rows = await fetch(Window(window.offset, window.limit + 1)) if window.limit else []
    has_next = len(rows) > window.limit
    nodes = [to_node(row) for row in rows[: window.limit]]
    return Connection(
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=window.offset > 0,
            start_cursor=encode_cursor(window.offset) if nodes else None,
            end_cursor=encode_cursor(window.offset + len(nodes) - 1) if nodes else None,
        ),
        offset=window.offset,
        count_items=count,
        known_total=total,
    )


First = Annotated[
    int | None,
    strawberry.argument(description="Items from the start of the window (0-100; default 20)."),
]
After = Annotated[str | None, strawberry.argument(description="Start after this cursor.")]
Last = Annotated[int | None, strawberry.argument(description="Items from the end of the window (0-100).")]
Before = Annotated[str | None, strawberry.argument(description="End before this cursor.")]
IdArg = Annotated[strawberry.ID, strawberry.argument(description="The object's ID.")]
