"""Automatic persisted queries (Apollo's protocol), stored in `persisted_queries`.

Every worker shares the table; a small in-process LRU answers repeated look-ups without a
round trip (hash -> text never changes, so the cache needs no invalidation; misses are not
cached, another worker may register the document a moment later).

Protocol (https://www.apollographql.com/docs/apollo-server/performance/apq):
`extensions.persistedQuery = {version: 1, sha256Hash: <hex of sha256(query)>}`; with no
`query`, the server answers PERSISTED_QUERY_NOT_FOUND until the client resends the hash with
the full query, which registers it (after it validated).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.engine import Database
from db.models import PersistedQuery, utcnow

log = logging.getLogger("shopql.persisted_queries")

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # Apollo clients match on this exact message
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
NOT_SAFELISTED = "OPERATION_NOT_SAFELISTED"


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


class PersistedQueryError(Exception):
    """A malformed persistedQuery extension (unsupported version, hash not hex...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_extension(extensions: Any) -> str | None:
    """The requested sha256 hash, None when the request uses no persisted query."""
    if extensions is None:
        return None
    if not isinstance(extensions, dict):
        raise PersistedQueryError("BAD_REQUEST", "'extensions' must be a JSON object")
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise PersistedQueryError("BAD_REQUEST", "'extensions.persistedQuery' must be a JSON object")
    if persisted.get("version") != 1:
        raise PersistedQueryError(NOT_SUPPORTED, "Unsupported persisted query version (only 1 is supported)")
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not SHA256_HEX.match(sha):
        raise PersistedQueryError("BAD_REQUEST", "'sha256Hash' must be 64 lower-case hex digits")
    return sha


class PersistedQueryStore:
    def __init__(self, db: Database, *, cache_size: int = 1000, max_stored: int = 10_000) -> None:
        self.db = db
        self.cache_size = cache_size
        self.max_stored = max_stored
        self._cache: OrderedDict[str, str] = OrderedDict()

    def cached(self, sha: str) -> str | None:
        query = self._cache.get(sha)
        if query is not None:
            self._cache.move_to_end(sha)
        return query

    def _remember(self, sha: str, query: str) -> None:
        self._cache[sha] = query
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def get(self, sha: str) -> str | None:
        """The document text registered under `sha`, or None."""
        query = self.cached(sha)
        if query is not None:
            return query
        async with self.db.read() as conn:
            query = (
                await conn.execute(select(PersistedQuery.query).where(PersistedQuery.sha256 == sha))
            ).scalar_one_or_none()
        if query is not None:
            self._remember(sha, query)
        return query

    async def put(self, sha: str, query: str) -> bool:
        """Register `query` under `sha` (idempotent across workers); False when the table is full."""
        if self.cached(sha) is not None:
            return True
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        async with self.db.transaction() as session:
            stored = (await session.execute(select(func.count()).select_from(PersistedQuery))).scalar_one()
            if stored >= self.max_stored:
                log.warning("persisted query store is full (%d documents); %s not registered", stored, sha)
                return False
            await session.execute(
                insert(PersistedQuery)
                .values(sha256=sha, query=query, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["sha256"])
            )
        self._remember(sha, query)
        return True
