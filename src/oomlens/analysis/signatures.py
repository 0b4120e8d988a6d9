"""Stable signatures: the same bug in two dumps gets the same one.

A signature is built only from names (classes, fields), never from ids, addresses, counts,
sizes or array indices, which change from one dump to the next. Names are hashed after
retracing, so an obfuscated and a plain build of the same app agree.
"""

from __future__ import annotations

import hashlib
import re

_ARRAY_INDEX = re.compile(r"\[\d+\]")


def _digest(kind: str, parts: list[str]) -> str:
    text = "\n".join([kind, *parts])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def normalise_reference(reference: str) -> str:
    """``Object[].[12]`` -> ``Object[].[]``: which slot holds an object is not part of a bug."""
    return _ARRAY_INDEX.sub("[]", reference)


def leak_signature(leaking_class: str, app_references: list[str]) -> str:
    """A leak: the leaking class plus the app's own references that hold it
    (``Holder.field`` strings, root first)."""
    return _digest("leak", [leaking_class, *map(normalise_reference, app_references)])


def library_leak_signature(pattern_name: str, leaking_class: str) -> str:
    """A known platform leak: the pattern plus the class it leaks."""
    return _digest("library-leak", [pattern_name, leaking_class])


def big_object_signature(class_name: str, holder: str | None) -> str:
    """A big object: its class plus its holder (``Holder.field``, or None)."""
    return _digest("big-object", [class_name, normalise_reference(holder or "")])


def cluster_signature(class_name: str) -> str:
    return _digest("class-cluster", [class_name])
