"""What a delivery sends: the body in the webhook's format, and the headers that sign it.

Formats:

- ``json``: the event document as the outbox holds it (``outbox.document``) plus ``sent_at``.
- ``slack``: a Slack incoming-webhook message, ``{"text": ...}``.
- ``lark``: a Lark/Feishu custom-bot text message, ``{"msg_type": "text", "content": {"text":
  ...}}``, with the ``timestamp`` and ``sign`` fields Lark checks when the bot has a signing
  secret: ``base64(HMAC-SHA256(key = "{timestamp}\\n{secret}", message = empty))``.

Every request, whatever its format, also carries ``X-Oomlens-Signature: sha256=<hex>``, the
HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed with the webhook's secret, the ``timestamp`` being
``X-Oomlens-Timestamp`` (Unix seconds): a receiver recomputes it over the raw body, compares in
constant time, and refuses old timestamps (replays). ``X-Oomlens-Delivery`` is the outbox id: a
retried delivery repeats it, so receivers can drop duplicates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from oomlens import __version__
from oomlens.server.core.models import NEW_ISSUE, REGRESSION, TEST


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Oomlens-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def lark_sign(secret: str, timestamp: int) -> str:
    """Lark's custom-bot signature: the secret is in the key, the message is empty."""
    mac = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def text(document: dict) -> str:
    """The event in one line, for chat formats."""
    project, event, issue = document["project"], document["event"], document.get("issue")
    if event == TEST:
        return f"oomlens: test notification for project {project}"
    about = f"{issue['title']} ({issue['kind']}, {issue['reports']} reports)"
    if event == NEW_ISSUE:
        line = f"New issue in {project}: {about}"
    elif event == REGRESSION:
        line = (f"Regression in {project}: {about}, fixed in "
                f"{issue['fixed_in_version'] or '?'}, seen again in a later version")
    else:
        line = (f"Spike in {project}: {about}, {document['spike']['reports_last_hour']} "
                "in the last hour")
    return f"oomlens: {line} - {issue['path']}"


def body(fmt: str, document: dict, secret: str, sent_at: str, timestamp: int) -> bytes:
    """The request body of ``document`` for a webhook of format ``fmt``."""
    if fmt == "slack":
        shaped = {"text": text(document)}
    elif fmt == "lark":
        shaped = {"msg_type": "text", "content": {"text": text(document)},
                  "timestamp": str(timestamp), "sign": lark_sign(secret, timestamp)}
    else:
        shaped = {**document, "sent_at": sent_at}
    return json.dumps(shaped, separators=(",", ":"), ensure_ascii=False).encode()


def headers(secret: str, timestamp: int, body: bytes, event: str, delivery_id: int) -> dict:
    return {"Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"oomlens/{__version__}",
            "X-Oomlens-Event": event,
            "X-Oomlens-Delivery": str(delivery_id),
            "X-Oomlens-Timestamp": str(timestamp),
            "X-Oomlens-Signature": signature(secret, timestamp, body)}
