"""Relay `node(id:)`: each area registers how to fetch the objects of its ID prefix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.types import Info

from db.ids import prefix_of

NodeFetcher = Callable[[Info, str], Awaitable[Any]]
_fetchers: dict[str, NodeFetcher] = {}


def register_node(prefix: str, fetch: NodeFetcher) -> None:
    _fetchers[prefix] = fetch


async def fetch_node(info: Info, identifier: str) -> Any:
    prefix = prefix_of(identifier)
    fetch = _fetchers.get(prefix) if prefix else None
    return await fetch(info, identifier) if fetch else None
