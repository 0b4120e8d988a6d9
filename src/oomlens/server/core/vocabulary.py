"""The server's words, each kind in one place: the states a report goes through, an issue's
statuses, the kinds of finding an issue is made of, the kinds of project key, and a webhook
delivery's states.

They are string enums with the values the server always used, so the JSON, the database (plain
String columns: no migration) and the templates see the same strings; a member is equal to its
string, so a value read back from the database compares with it directly.
"""

from __future__ import annotations

from enum import StrEnum


class ReportStatus(StrEnum):
    """A report's state; the ``reports`` table is the job queue (``core.queue``)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the dump itself is bad: the reason is in ``error``; not retried
    DEAD = "dead"  # the analysis kept failing (crash, time or memory limit) max_attempts times


class IssueStatus(StrEnum):
    OPEN = "open"
    FIXED = "fixed"  # in ``fixed_in_version``; re-opened when seen in a later version
    IGNORED = "ignored"


class FindingKind(StrEnum):
    """What an issue is: a kind of finding of the report document, or, for a report without
    any, its OOM cause (or the threshold a capture crossed)."""

    LEAK = "leak"
    LIBRARY_LEAK = "library_leak"
    BIG_OBJECT = "big_object"
    CLASS_CLUSTER = "class_cluster"
    OOM_CAUSE = "oom_cause"


class KeyKind(StrEnum):
    INGEST = "ingest"  # may upload reports and mappings, nothing else (it ships inside apps)
    READ = "read"  # may read the project's data
    ADMIN = "admin"  # may read, and change the project: issue states, owners, webhooks, keys


class DeliveryState(StrEnum):
    """A webhook notification in the outbox."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # given up after its attempts (or its webhook deleted), last error kept
