"""The one pure-ASGI middleware every request goes through (no BaseHTTPMiddleware).

- a request id: the client's X-Request-ID when sane, else a new one; echoed back, put in the
  scope (`state.request_id`) and in the logging context;
- `Cache-Control: no-store` on every response that did not choose its own caching;
- with SQL_COUNT_HEADER, the request's SQL statement count (X-SQL-Statements);
- with ACCESS_LOG, one access-log record per request (method, path, status, duration; never
  the query string, which may carry GraphQL variables);
- the last resort for errors nothing else answered: rendered here, inside the request-id
  scope (so the 500 carries X-Request-ID and no-store and is logged once, with the id), or a
  503 + Retry-After when the database is out of reach. Starlette's own last-resort handler
  runs outside every middleware and would lose all of that.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.engine import is_database_unavailable, statement_counter
from shopql.logs import access_log, request_id_var

log = logging.getLogger("shopql.http")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_NO_STORE = (b"cache-control", b"no-store")
RETRY_AFTER_SECONDS = 5


def _envelope(code: str, message: str) -> bytes:
    # The REST error envelope (docs/rest-compat.md); /graphql answers its own errors.
    return orjson.dumps({"error": {"code": code, "message": message}})


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, count_statements: bool = False, log_access: bool = False) -> None:
        self.app = app
        self.count_statements = count_statements
        self.log_access = log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        counter = [0] if self.count_statements else None
        counter_token = statement_counter.set(counter) if counter is not None else None
        id_token = request_id_var.set(request_id)
        started = time.perf_counter() if self.log_access else 0.0
        status = [0]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                for header_name, _ in headers:
                    if header_name == b"cache-control":
                        break
                else:
                    headers.append(_NO_STORE)
                headers.append((b"x-request-id", request_id.encode()))
                if counter is not None:
                    headers.append((b"x-sql-statements", str(counter[0]).encode()))
                message["headers"] = headers
            await send(message)

        try:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as error:
                if status[0]:
                    raise  # the response is under way: nothing sane can be sent any more
                await self._answer_error(error, scope, request_id, send_with_id)
        finally:
            if self.log_access:
                access_log.info(
                    '%s %s %s %.1fms',
                    scope["method"],
                    scope["path"],
                    status[0] or 500,
                    (time.perf_counter() - started) * 1000,
                    extra={
                        "http": {
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status[0] or 500,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                            "client": (scope.get("client") or ("", 0))[0],
                        }
                    },
                )
            request_id_var.reset(id_token)
            if counter_token is not None:
                statement_counter.reset(counter_token)

    @staticmethod
    async def _answer_error(error: Exception, scope: Scope, request_id: str, send: Send) -> None:
        headers = [(b"content-type", b"application/json")]
        if is_database_unavailable(error) or isinstance(error, TimeoutError):
            log.warning("database unavailable (request %s): %r", request_id, error)
            status, body = 503, _envelope("service_unavailable", "Service temporarily unavailable")
            headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
        else:
            log.error("unhandled error at %s %s (request %s)", scope["method"], scope["path"], request_id,
                      exc_info=error)
            status, body = 500, _envelope("internal_server_error", "Internal server error")
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
