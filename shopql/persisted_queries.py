"""Persisted queries, stored in `persisted_queries`: Apollo's automatic protocol and a safelist.

Every worker shares the table; a small in-process LRU answers repeated look-ups without a
round trip (hash -> text never changes, so the cache needs no invalidation; misses are not
cached, another worker may register the document a moment later).

Protocol (https://www.apollographql.com/docs/apollo-server/performance/apq):
`extensions.persistedQuery = {version: 1, sha256Hash: <hex of sha256(query)>}`; with no
`query`, the server answers PERSISTED_QUERY_NOT_FOUND until the client resends the hash with
the full query, which registers it once it passed validation and the cost limit.

Automatically registered documents are capped (PERSISTED_QUERIES_MAX): past the cap the least
recently used ones are evicted, in batches, so the table cannot be filled for good. Use is
recorded in `last_used_at`, at most once a minute per document and worker.

Safelisted documents (`shopql persist <manifest>`, see `load_manifest`) are never evicted
and are the only ones a server in safelist mode (PERSISTED_QUERIES_ONLY) runs, besides the
REST layer's own documents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import orjson
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.engine import Database
from db.models import PersistedQuery, utcnow

log = logging.getLogger("shopql.persisted_queries")

SHA256_HEX = re.compile(r"[0-9a-f]{64}")

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # Apollo clients match on this exact message
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
NOT_SAFELISTED = "OPERATION_NOT_SAFELISTED"

# `last_used_at` is written at most this often per document (a read must not become a write).
TOUCH_INTERVAL = 60.0
# When the cap is reached, evict down to this share of it: one eviction per many registrations.
EVICT_TO = 0.9
APOLLO_MANIFEST_FORMAT = "apollo-persisted-query-manifest"


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
    if not isinstance(sha, str) or not SHA256_HEX.fullmatch(sha):
        raise PersistedQueryError("BAD_REQUEST", "'sha256Hash' must be 64 lower-case hex digits")
    return sha


class StoredQuery(NamedTuple):
    query: str
    safelisted: bool


class _Entry:
    __slots__ = ("stored", "touched")

    def __init__(self, stored: StoredQuery, touched: float) -> None:
        self.stored = stored
        self.touched = touched


class PersistedQueryStore:
    def __init__(self, db: Database, *, cache_size: int = 1000, max_stored: int = 10_000) -> None:
        self.db = db
        self.cache_size = cache_size
        self.max_stored = max_stored
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        # Automatically registered documents as this worker last counted them plus what it
        # added since (None: not counted yet). Other workers' additions show at the next count.
        self._stored: int | None = None
        self._full_logged = False

    @property
    def accepts_registrations(self) -> bool:
        return self.max_stored > 0

    def _remember(self, sha: str, stored: StoredQuery, touched: float) -> None:
        self._cache[sha] = _Entry(stored, touched)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def get(self, sha: str) -> StoredQuery | None:
        """The document registered under `sha`, or None; records its use (cheaply)."""
        entry = self._cache.get(sha)
        now = time.monotonic()
        if entry is not None:
            self._cache.move_to_end(sha)
            if now - entry.touched >= TOUCH_INTERVAL:
                entry.touched = now
                await self._touch(sha)
            return entry.stored
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(PersistedQuery.query, PersistedQuery.safelisted, PersistedQuery.last_used_at)
                    .where(PersistedQuery.sha256 == sha)
                )
            ).one_or_none()
        if row is None:
            return None
        stored = StoredQuery(row.query, bool(row.safelisted))
        self._remember(sha, stored, now)
        if _age(row.last_used_at) >= TOUCH_INTERVAL:
            await self._touch(sha)
        return stored

    async def _touch(self, sha: str) -> None:
        """Record a use for eviction. Best effort: a failure here must not fail the request."""
        try:
            async with self.db.transaction() as session:
                await session.execute(
                    update(PersistedQuery).where(PersistedQuery.sha256 == sha).values(last_used_at=utcnow())
                )
        except Exception as error:  # noqa: BLE001 - eviction order is not worth a failed request
            log.warning("could not record the use of persisted query %s: %r", sha, error)

    async def put(self, sha: str, query: str) -> bool:
        """Register `query` under `sha` (idempotent across workers); False when registration is off.

        Past `max_stored` automatically registered documents, the least recently used are
        evicted down to EVICT_TO of the cap (safelisted documents are never evicted).
        """
        if not self.accepts_registrations:
            return False
        if sha in self._cache:
            return True
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        now = utcnow()
        async with self.db.transaction() as session:
            result = await session.execute(
                insert(PersistedQuery)
                .values(sha256=sha, query=query, created_at=now, last_used_at=now, safelisted=False)
                .on_conflict_do_nothing(index_elements=["sha256"])
            )
            added = result.rowcount == 1
            if added and self._stored is not None:
                self._stored += 1
            if added and (self._stored is None or self._stored > self.max_stored):
                self._stored = await self._evict(session)
        self._remember(sha, StoredQuery(query, False), time.monotonic())
        return True

    async def _evict(self, session: Any) -> int:
        """Count the automatic documents and, over the cap, drop the least recently used."""
        count = (
            await session.execute(select(func.count()).select_from(PersistedQuery).where(~PersistedQuery.safelisted))
        ).scalar_one()
        if count <= self.max_stored:
            return count
        keep = int(self.max_stored * EVICT_TO)
        oldest = (
            select(PersistedQuery.sha256)
            .where(~PersistedQuery.safelisted)
            .order_by(PersistedQuery.last_used_at, PersistedQuery.sha256)
            .limit(count - keep)
        )
        await session.execute(
            delete(PersistedQuery).where(PersistedQuery.sha256.in_(oldest.scalar_subquery()))
        )
        if not self._full_logged:
            self._full_logged = True
            log.warning(
                "persisted query store reached its cap of %d documents: evicting the least recently used "
                "(logged once; raise PERSISTED_QUERIES_MAX or safelist your clients' documents)",
                self.max_stored,
            )
        return keep

    async def safelist(self, documents: Mapping[str, str], *, replace: bool = False) -> tuple[int, int]:
        """Store `documents` ({sha256: query}) as safelisted; with `replace`, documents not in
        `documents` lose the flag (and become ordinary, evictable ones).

        Returns (documents safelisted, documents that lost the flag).
        """
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        now = utcnow()
        removed = 0
        async with self.db.transaction() as session:
            for sha, query in documents.items():
                statement = insert(PersistedQuery).values(
                    sha256=sha, query=query, created_at=now, last_used_at=now, safelisted=True
                )
                await session.execute(
                    statement.on_conflict_do_update(index_elements=["sha256"], set_={"safelisted": True})
                )
            if replace:
                result = await session.execute(
                    update(PersistedQuery)
                    .where(PersistedQuery.safelisted, PersistedQuery.sha256.not_in(list(documents)))
                    .values(safelisted=False)
                )
                removed = result.rowcount
        self._cache.clear()
        return len(documents), removed


def _age(moment: dt.datetime | None) -> float:
    if moment is None:
        return float("inf")
    return (utcnow() - moment).total_seconds()


# --- manifests --------------------------------------------------------------------------------------


class ManifestError(Exception):
    """The manifest cannot be used; the message says where and why."""


def load_manifest(raw: bytes) -> dict[str, str]:
    """{sha256: query} from a persisted-operation manifest, in one of two standard formats:

    - Apollo's persisted query manifest (`@apollo/generate-persisted-query-manifest`):
      `{"format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{"id": <sha256>, "name": ..., "type": ..., "body": <query>}]}`;
    - a flat map `{<sha256>: <query>}`, as graphql-codegen's client preset writes
      (`persisted-documents.json`, sha256 hashes) and Relay's persisted queries.

    Every key must be the sha256 of its document's exact text (what clients send).
    """
    try:
        manifest = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ManifestError(f"not valid JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise ManifestError("expected a JSON object")
    if manifest.get("format") == APOLLO_MANIFEST_FORMAT:
        if manifest.get("version") != 1:
            raise ManifestError(f"unsupported {APOLLO_MANIFEST_FORMAT} version {manifest.get('version')!r}")
        operations = manifest.get("operations")
        if not isinstance(operations, list):
            raise ManifestError("'operations' must be a list")
        pairs: Iterable[tuple[Any, Any]] = (
            (op.get("id"), op.get("body")) if isinstance(op, dict) else (None, None) for op in operations
        )
    else:
        pairs = manifest.items()
    documents: dict[str, str] = {}
    for position, (sha, query) in enumerate(pairs):
        if not isinstance(sha, str) or not SHA256_HEX.fullmatch(sha):
            raise ManifestError(f"entry {position}: the id must be 64 lower-case hex digits (a sha256)")
        if not isinstance(query, str) or not query.strip():
            raise ManifestError(f"entry {position} ({sha}): the document must be a non-empty string")
        if sha256_hex(query) != sha:
            raise ManifestError(f"entry {position} ({sha}): the id is not the sha256 of the document's text")
        documents[sha] = query
    if not documents:
        raise ManifestError("the manifest holds no documents")
    return documents
