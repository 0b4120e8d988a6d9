"""The verdict on each object of a leak trace, as in LeakCanary: is it leaking?

The report document says it as ``leaking``: ``yes``, ``no`` or ``unknown`` (the schema's enum);
``Verdict`` is a string enum of those values, so a document holding one is the same JSON.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    LEAKING = "yes"  # a rule, or the leak itself, says the object should be gone
    NOT_LEAKING = "no"  # it is alive for sure (or holds a live one: everything above it)
    UNKNOWN = "unknown"
