"""Configuration read from the environment (and a `.env` file when present).

Every variable is documented in README.md; keep the two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from dotenv import load_dotenv

from db.engine import Timeouts

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./shopql.db"
GOOGLE_DISCOVERY_DEFAULT = "https://accounts.google.com/.well-known/openid-configuration"
DEVELOPMENT_JWT_SECRET = "development-only-secret-change-me-0123456789abcdef"


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed; raised at start-up, never per request."""


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {value}")
    return value


def _seconds(name: str, default: float, minimum: float = 0.1) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if not value >= minimum or value == float("inf"):
        raise ConfigurationError(f"{name} must be a finite number >= {minimum}, got {raw!r}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_connect_timeout: float = 2.0
    db_pool_timeout: float = 2.0
    db_request_timeout: float = 5.0
    sqlite_busy_timeout: float = 5.0
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_issuer: str = "shopql"
    jwt_audience: str = "shopql-api"
    access_token_ttl: int = 900
    refresh_token_ttl: int = 604800
    refresh_token_max_lifetime: int = 2592000
    google_client_id: str = ""
    google_client_secret: str = ""
    google_redirect_uri: str = "http://127.0.0.1:8080/api/v1/auth/google/callback"
    google_discovery_url: str = GOOGLE_DISCOVERY_DEFAULT
    oauth_state_ttl: int = 600
    login_max_failures: int = 5
    login_max_failures_per_account: int = 20
    login_failure_window: int = 900
    login_max_failures_per_address: int = 50
    cors_origins: tuple[str, ...] = ()
    graphiql: bool = True
    debug: bool = False
    log_format: str = "text"
    access_log: bool = False
    sql_count_header: bool = False
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_query_cost: int = 50000
    max_fields: int = 1500
    max_repeated_fields: int = 2000
    max_batch_size: int = 10
    max_body_bytes: int = 1_000_000
    persisted_queries_only: bool = False
    persisted_queries_max: int = 10_000
    http_cache_max_age: int = 30
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_development(self) -> bool:
        return self.environment in {"development", "test"}

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def db_timeouts(self) -> Timeouts:
        # One PostgreSQL statement cannot outlast the request it serves.
        return Timeouts(
            connect=self.db_connect_timeout,
            pool=self.db_pool_timeout,
            statement=self.db_request_timeout,
            busy=self.sqlite_busy_timeout,
        )


def load_settings() -> Settings:
    """Build Settings from the environment; raise ConfigurationError on bad values."""
    load_dotenv(override=False)
    environment = os.environ.get("SHOPQL_ENV", "development").strip().lower()
    jwt_secret = os.environ.get("JWT_SECRET", "").strip()
    if not jwt_secret:
        if environment not in {"development", "test"}:
            raise ConfigurationError(
                "JWT_SECRET is required when SHOPQL_ENV is not 'development' or 'test'"
            )
        jwt_secret = DEVELOPMENT_JWT_SECRET
    elif len(jwt_secret) < 32:
        raise ConfigurationError("JWT_SECRET must be at least 32 characters long")
    return Settings(
        environment=environment,
        database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL).strip(),
        db_pool_size=_int("DB_POOL_SIZE", 10, minimum=1),
        db_max_overflow=_int("DB_MAX_OVERFLOW", 10),
        db_connect_timeout=_seconds("DB_CONNECT_TIMEOUT", 2.0),
        db_pool_timeout=_seconds("DB_POOL_TIMEOUT", 2.0),
        db_request_timeout=_seconds("DB_REQUEST_TIMEOUT", 5.0),
        sqlite_busy_timeout=_seconds("SQLITE_BUSY_TIMEOUT", 5.0, minimum=0.0),
        jwt_secret=jwt_secret,
        access_token_ttl=_int("ACCESS_TOKEN_TTL", 900, minimum=1),
        refresh_token_ttl=_int("REFRESH_TOKEN_TTL", 604800, minimum=1),
        refresh_token_max_lifetime=_int("REFRESH_TOKEN_MAX_LIFETIME", 2592000, minimum=1),
        google_client_id=os.environ.get("GOOGLE_CLIENT_ID", ""),
        google_client_secret=os.environ.get("GOOGLE_CLIENT_SECRET", ""),
        google_redirect_uri=os.environ.get(
            "GOOGLE_REDIRECT_URI", "http://127.0.0.1:8080/api/v1/auth/google/callback"
        ),
        google_discovery_url=os.environ.get("GOOGLE_DISCOVERY_URL", GOOGLE_DISCOVERY_DEFAULT),
        oauth_state_ttl=_int("OAUTH_STATE_TTL", 600, minimum=1),
        login_max_failures=_int("LOGIN_MAX_FAILURES", 5, minimum=1),
        login_max_failures_per_account=_int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 20, minimum=1),
        login_failure_window=_int("LOGIN_FAILURE_WINDOW", 900, minimum=1),
        login_max_failures_per_address=_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 50, minimum=1),
        cors_origins=_list("CORS_ORIGINS"),
        graphiql=_bool("GRAPHIQL", environment in {"development", "test"}),
        debug=_bool("SHOPQL_DEBUG", False),
        log_format=os.environ.get("LOG_FORMAT", "text").strip().lower(),
        access_log=_bool("ACCESS_LOG", False),
        sql_count_header=_bool("SQL_COUNT_HEADER", False),
        max_query_depth=_int("GRAPHQL_MAX_DEPTH", 12, minimum=1),
        max_aliases=_int("GRAPHQL_MAX_ALIASES", 30, minimum=1),
        max_tokens=_int("GRAPHQL_MAX_TOKENS", 2000, minimum=1),
        max_query_cost=_int("GRAPHQL_MAX_COST", 50000, minimum=1),
        max_fields=_int("GRAPHQL_MAX_FIELDS", 1500, minimum=1),
        max_repeated_fields=_int("GRAPHQL_MAX_REPEATED_FIELDS", 2000, minimum=0),
        max_batch_size=_int("GRAPHQL_MAX_BATCH", 10, minimum=1),
        max_body_bytes=_int("MAX_BODY_BYTES", 1_000_000, minimum=1024),
        persisted_queries_only=_bool("PERSISTED_QUERIES_ONLY", False),
        persisted_queries_max=_int("PERSISTED_QUERIES_MAX", 10_000, minimum=0),
        http_cache_max_age=_int("HTTP_CACHE_MAX_AGE", 30),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
