"""Delivering the outbox: the ``Notifier`` thread that every server runs.

A delivery is claimed by a conditional UPDATE that pushes its ``next_attempt_at`` past the time
a send may take and counts the attempt; only the server whose UPDATE changed the row sends it,
so two servers never send one row at once, and a server that dies mid-send leaves the row due
again a minute later (at-least-once: receivers drop repeats by ``X-Oomlens-Delivery``).

A 2xx answer marks it ``sent``; anything else (an error status, a timeout, a refused connection,
Lark's ``{"code": <not 0>}`` under a 200) schedules the next attempt after a growing wait (base
x 1, 3, 12, 60, 360: 10 s, 30 s, 2 min, 10 min, 1 h with the default base of
``OOMLENS_WEBHOOK_BACKOFF_S`` = 10); after the last it is ``dead``, its last error kept. Sends
run on a few worker threads, at most one at a time per webhook, so a receiver that hangs delays
only its own deliveries.
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from oomlens.server.core.models import Notification, Webhook
from oomlens.server.core.polling import PollingThread
from oomlens.server.core.vocabulary import DeliveryState
from oomlens.server.notify import payloads

BACKOFF_STEPS = (1, 3, 12, 60, 360)  # times the base, before attempts 2, 3, ...
MAX_ATTEMPTS = len(BACKOFF_STEPS) + 1
TIMEOUT_S = 10
CLAIM = timedelta(seconds=60)  # longer than a send can take
DELETED = "the webhook was deleted"  # the last error of deliveries it left
WORKERS = 4


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None  # the HTTP status, None when there was no answer
    error: str = ""


def backoff(base_s: int, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    return timedelta(seconds=base_s * BACKOFF_STEPS[min(attempts, len(BACKOFF_STEPS)) - 1])


def claim(session: Session, now: datetime, busy: set[int]) -> Notification | None:
    """A due delivery of a webhook not in ``busy``, now this server's to send (or None)."""
    def due():
        return (Notification.state == DeliveryState.PENDING) & (Notification.next_attempt_at <= now)

    while True:
        query = select(Notification.id).where(due()).order_by(Notification.next_attempt_at,
                                                              Notification.id).limit(1)
        if busy:
            query = query.where(Notification.webhook_id.not_in(busy))
        candidate = session.scalar(query)
        if candidate is None:
            return None
        claimed = session.execute(
            update(Notification).where(Notification.id == candidate, due())
            .values(next_attempt_at=now + CLAIM, attempts=Notification.attempts + 1)
            .execution_options(synchronize_session=False)  # the row is read again below
        ).rowcount
        session.commit()
        if claimed:
            return session.get(Notification, candidate, populate_existing=True)


def record(session: Session, notification_id: int, outcome: Outcome, now: datetime,
           base_s: int) -> None:
    row = session.get(Notification, notification_id, populate_existing=True)
    row.last_status = outcome.status
    if outcome.ok:
        row.state, row.sent_at = DeliveryState.SENT, now
    else:
        row.last_error = outcome.error[:500]
        if row.attempts >= MAX_ATTEMPTS:
            row.state = DeliveryState.DEAD
        else:
            row.next_attempt_at = now + backoff(base_s, row.attempts)
    session.commit()


def send(client: httpx.Client, webhook: Webhook, row: Notification) -> Outcome:
    sent_at = datetime.now(UTC)
    timestamp = int(sent_at.timestamp())
    body = payloads.body(webhook.format, json.loads(row.payload), webhook.secret,
                         sent_at.isoformat(), timestamp)
    try:
        answer = client.post(webhook.url, content=body, headers=payloads.headers(
            webhook.secret, timestamp, body, row.event, row.id))
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}".splitlines()[0])
    if not answer.is_success:
        return Outcome(False, answer.status_code,
                       f"HTTP {answer.status_code}: {answer.text[:200]}".splitlines()[0])
    refusal = _lark_refusal(answer) if webhook.format == "lark" else ""
    return Outcome(not refusal, answer.status_code, refusal)


def _lark_refusal(answer: httpx.Response) -> str:
    """Lark answers 200 with a non-zero ``code`` when it refuses a message (a bad sign, say)."""
    try:
        reply = answer.json()
    except ValueError:
        return ""
    code = reply.get("code") if isinstance(reply, dict) else None
    return f"Lark refused it: code {code}: {reply.get('msg', '')}" if code else ""


class Notifier(PollingThread):
    """The thread that sends due deliveries, on ``WORKERS`` sender threads."""

    name = "oomlens notifier"

    def __init__(self, sessions: sessionmaker, backoff_base_s: int):
        super().__init__()
        self._sessions = sessions
        self._base = backoff_base_s
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="oomlens-webhook")
        self._client = httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
        self._busy: set[int] = set()  # webhooks with a send under way
        self._lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def poll_once(self) -> None:
        while len(self._busy) < WORKERS and self._claim_one():
            pass

    def _claim_one(self) -> bool:
        with self._sessions() as session:
            with self._lock:
                busy = set(self._busy)
            row = claim(session, datetime.now(UTC), busy)
            if row is None:
                return False
            webhook = session.get(Webhook, row.webhook_id)
            if webhook.revoked_at is not None:  # deleted while this row was being claimed
                row.state, row.last_error = DeliveryState.DEAD, DELETED
                session.commit()
                return True
            with self._lock:
                self._busy.add(webhook.id)
            session.expunge_all()
        self._pool.submit(self._deliver, webhook, row)
        return True

    def _deliver(self, webhook: Webhook, row: Notification) -> None:
        try:
            outcome = send(self._client, webhook, row)
            with self._sessions() as session:
                record(session, row.id, outcome, datetime.now(UTC), self._base)
        except Exception as exc:  # the row stays claimed and is due again after CLAIM
            print(f"oomlens notifier: delivery {row.id}: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
        finally:
            with self._lock:
                self._busy.discard(webhook.id)
