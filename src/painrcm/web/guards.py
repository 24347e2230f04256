"""The app's outer guards (pure ASGI, so they act before a body is read or a route runs):

- a request body is capped while it streams in (``MAX_BODY``): a declared Content-Length over the cap
  is refused at once, and a chunked body is cut off at the cap, before it is spooled whole (413);
- a NUL character in the path or the query string is refused (400), the same on SQLite and PostgreSQL;
- an error the app did not handle answers 500 and is logged by its type and code location only: the
  message of a database error can quote the statement's data (patient names, member IDs).

The database's own refusals are mapped by `install_handlers`: `Busy` (no lock in time) -> 503 with
Retry-After, `BadText` (text the schema cannot hold) -> 422, a unique conflict -> 409, a number too
large for the database (an ID or amount over 64 bits) -> 422. A validation error about a binary body
(an upload sent where JSON was expected) answers 422 like any other, its raw bytes shown as text.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from painrcm.store.db import BadText, Busy, is_busy
from painrcm.store.safelog import safe_trace

log = logging.getLogger("painrcm.web")

MAX_BODY = 51 * 1024 * 1024  # the largest upload (50 MB) and its multipart envelope


class BodyTooLarge(Exception):
    pass


async def _send_json(send: Any, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = JSONResponse({"detail": detail}).body
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class Guards:
    def __init__(self, app: Any, max_body: int = MAX_BODY) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope.get("path", "").encode()
        if (
            b"\x00" in raw_path
            or b"%00" in raw_path
            or b"%00" in scope.get("query_string", b"")
            or "\x00" in scope.get("path", "")
        ):
            await _send_json(send, 400, "the address may not contain a NUL character")
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_body
            except ValueError:
                too_big = False
            if too_big:
                await _send_json(send, 413, f"the request is larger than {self.max_body // (1024 * 1024)} MB")
                return
        seen = 0
        started = False

        async def capped_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_json(send, 413, f"the request is larger than {self.max_body // (1024 * 1024)} MB")
        except Exception as e:  # noqa: BLE001 - the last line of defence: answer, log without data
            log.error("unhandled error on %s %s: %s", scope.get("method"), scope.get("path"), safe_trace(e))
            if not started:
                await _send_json(send, 500, "internal error")


def _printable(value: Any) -> Any:
    """Validation errors quote the input; a binary body's bytes become text so the 422 can be written."""
    if isinstance(value, bytes | bytearray):
        return bytes(value[:200]).decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return JSONResponse({"detail": jsonable_encoder(_printable(exc.errors()))}, status_code=422)

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        return JSONResponse({"detail": "a number is too large"}, status_code=422)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        log.info("value refused on %s %s: %s", request.method, request.url.path, safe_trace(exc))
        return JSONResponse({"detail": "a value the workspace cannot store (out of range)"}, status_code=422)

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy) -> Response:
        return JSONResponse(
            {"detail": str(exc)}, status_code=503, headers={"Retry-After": str(Busy.retry_after)}
        )

    @app.exception_handler(BadText)
    async def _bad_text(request: Request, exc: BadText) -> Response:
        return JSONResponse({"detail": f"a value the workspace cannot store: {exc}"}, status_code=422)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> Response:
        if is_busy(exc):
            return await _busy(request, Busy())
        log.error("database error on %s %s: %s", request.method, request.url.path, safe_trace(exc))
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError) -> Response:
        log.info("write conflict on %s %s: %s", request.method, request.url.path, safe_trace(exc))
        return JSONResponse(
            {"detail": "someone changed the same record at the same time; try again"},
            status_code=409,
            headers={"Retry-After": "1"},
        )
