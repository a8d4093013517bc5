"""The cap on request bodies (ZHICHENG_MAX_REQUEST_MB), in front of everything that reads one: the lanes,
which read bodies themselves before routing, and every route. A declared Content-Length over the cap is
answered at once; a chunked body is counted as it streams in and refused when it passes the cap. Either
way the answer is the usual 413 problem (problem+json on the API, the error page in the console, the
Open311 error under /open311/), and nothing is read into memory beyond the cap."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

ZH, EN = "请求内容过大（上限 {mb} MB）", "the request body is too large (at most {mb} MB)"


class TooLarge(HTTPException):
    """Raised from `receive` while a chunked body streams in; the routes' handler answers it (web.errors),
    and BodyLimit does for the lanes."""

    def __init__(self, mb: int) -> None:
        super().__init__(413, EN.format(mb=mb))


class BodyLimit:
    def __init__(self, app: Any, max_mb: int) -> None:
        self.app = app
        self.mb = max_mb
        self.max_bytes = max_mb * 1024 * 1024

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    return await self._refuse(scope, receive, send)
                return await self.app(scope, receive, send)  # declared: the server stops at that length
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise TooLarge(self.mb)
            return message

        started = False

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from zhicheng.web.errors import problem

        response = problem(Request(scope), 413, "too-large", ZH.format(mb=self.mb), EN.format(mb=self.mb))
        response.headers["connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)
