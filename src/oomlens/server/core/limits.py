"""The upload size limit, applied before a body is read: an ASGI middleware.

By the time an endpoint runs, FastAPI has already spooled a multipart body to disk, so a limit
checked there lets a client fill the server's disk and hold a worker for as long as it takes to
send gigabytes. Here a declared ``Content-Length`` over the limit is answered 413 at once, without
reading a byte of the body, and a body sent without a length (chunked) is counted as it streams
in and cut off with 413 as soon as it passes the limit; the connection is then closed.

Only the requests that carry dumps or mappings are limited; the endpoints keep their own exact
checks (the dump part of a form, a mapping's bytes), this guard is the early and coarse one.
"""

from __future__ import annotations

import json

# A multipart upload carries, beside the dump, its metadata fields (the OOM message may be 10 KB)
# and the part boundaries: the body may exceed the dump limit by this much.
FORM_ALLOWANCE = 64 << 10


def _limited(method: str, path: str) -> bool:
    """Requests whose bodies are dumps or mappings."""
    return (method == "POST" and path.rstrip("/") in ("/api/v1/reports", "/settings/mappings")) \
        or (method == "PUT" and path.startswith("/api/v1/mappings/"))


def _declared_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server itself refuses a malformed length
    return None


class UploadLimit:
    """Refuse bodies of more than ``max_bytes`` (+ ``FORM_ALLOWANCE``) with 413 on the limited
    routes, before the application reads them."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes
        self.limit = max_bytes + FORM_ALLOWANCE

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not _limited(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(send, f"the upload declares {declared:,} bytes")
            return
        received = 0
        started = refused = False

        async def counting_receive():
            nonlocal received, refused
            if refused:  # the app keeps reading: there is nothing more for it
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    if not started:
                        await self._refuse(send, f"the upload passed {self.limit:,} bytes")
                    return {"type": "http.disconnect"}  # the app stops where it is
            return message

        async def guarded_send(message):
            nonlocal started
            if refused:  # the app's answer to a body it never got whole: already answered
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise  # the app's own failure; a cut-off body's aftermath is not one

    async def _refuse(self, send, what: str) -> None:
        body = json.dumps({"detail": f"{what}, more than this server accepts "
                                     f"({self.max_bytes:,} bytes, OOMLENS_MAX_UPLOAD_MB)"})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body.encode()})
