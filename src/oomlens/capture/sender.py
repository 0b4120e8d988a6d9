"""Sending one dump to an oomlens server: ``POST /api/v1/reports``, retried while it can heal.

``oomlens upload`` and ``oomlens watch`` send through here, so both retry the same way and
carry the same idempotency key on every attempt of one dump: a retry after a lost answer, or a
``watch`` killed mid-upload and started again, gets the first report back instead of a second.

What is retried is what can heal by waiting: no connection, a reset or timed-out one, 408, 425,
429 and 5xx answers. A URL that cannot work and any other 4xx answer (a bad key, a dump the
server refuses) fail at once: retrying them only delays the error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from oomlens.errors import OomlensError

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0


class UploadRefused(OomlensError):
    """The server answered and said no (a 4xx other than the retryable ones): sending the same
    request again cannot succeed."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class ServerUnavailable(OomlensError):
    """The server could not be reached, or answered with a temporary error, on every attempt."""


@dataclass(frozen=True)
class Retry:
    """What ``send_dump`` tells its caller before it waits to try again."""

    problem: str  # what went wrong, as the error said it
    waiting_for: str  # what has to change for the next attempt to work
    delay_s: float
    attempt: int  # the one that failed, from 1
    attempts_left: int


def _waiting_for(exc=None, status: int | None = None) -> str:
    """What an attempt that failed this way is waiting for: said once, on the first failure,
    so that a wrong port reads as one, not as a flaky network."""
    import httpx

    if status == 429:
        return "the server asked to slow down"
    if status is not None:
        return "the server to recover from its error"
    if isinstance(exc, httpx.ConnectError):
        return "a server to answer at that address (is it running, and is the port right?)"
    if isinstance(exc, httpx.TimeoutException):
        return "the server or the network to answer in time"
    return "the connection to hold (it was cut)"


def reports_url(server: str) -> str:
    """The upload endpoint of ``server`` (``http://host:8270``, with or without a path prefix);
    OomlensError when it is not an http(s) URL with a host."""
    parts = urlsplit(server.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OomlensError(f"--server {server!r}: expected a URL like http://host:8270")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise OomlensError(f"--server {server!r}: the port is not a number") from None
    return server.strip().rstrip("/") + "/api/v1/reports"


def send_dump(server: str, key: str, body: Path, fields: dict[str, str], idempotency_key: str,
              retries: int, on_retry: Callable[[Retry], None] | None = None) -> dict:
    """Upload ``body`` with the form ``fields``; the server's 202 answer (``id``, ``status``,
    ``created``). ``on_retry`` is told before each wait (``Retry``)."""
    import httpx

    url = reports_url(server)
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key}
    delay = FIRST_DELAY_S
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        try:
            with open(body, "rb") as f:
                r = httpx.post(url, files={"dump": (body.name, f)}, data=fields,
                               headers=headers, timeout=httpx.Timeout(30, write=600))
            if r.status_code == 202:
                return r.json()
            problem = f"{r.status_code} {_detail(r)}"
            if r.status_code not in RETRYABLE:
                raise UploadRefused(f"{url}: {problem}", r.status_code)
            waiting = _waiting_for(status=r.status_code)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise OomlensError(f"{url}: {exc}") from None
        except httpx.TransportError as exc:
            problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            waiting = _waiting_for(exc)
        if attempt < attempts:
            if on_retry is not None:
                on_retry(Retry(problem, waiting, delay, attempt, attempts - attempt))
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    raise ServerUnavailable(f"{url}: gave up after {tries}: {problem}")


def _detail(response) -> str:
    try:
        return str(response.json().get("detail", ""))[:300]
    except (ValueError, AttributeError):
        return response.text[:300]
