"""Stable signatures: the same bug in two dumps gets the same one.

A signature is built only from names (classes, fields), never from ids, addresses, counts,
sizes or array indices, which change from one dump to the next. Names are hashed after
retracing, so an obfuscated and a plain build of the same app agree.

Each carries the scheme that made it, ``leak/1:5b76f6fc70a784f4``: the kind of finding, the
scheme's version and the digest. Changing what goes into a digest (which references count,
how they are normalised) splits every issue it touches, so it must be a deliberate step: bump
``SCHEME`` and migrate the stored issues, and a server can tell old signatures from new ones.
Documents written before the version was carried hold the bare digest of scheme 1
(``versioned`` reads them).
"""

from __future__ import annotations

import hashlib
import re

_ARRAY_INDEX = re.compile(r"\[\d+\]")
SCHEME = 1
LEAK, LIBRARY_LEAK, BIG_OBJECT, CLASS_CLUSTER, OOM_CAUSE = (
    "leak", "library-leak", "big-object", "class-cluster", "oom-cause")
_VERSIONED = re.compile(r"([a-z-]+)/(\d+):(.+)")


def _digest(kind: str, parts: list[str]) -> str:
    text = "\n".join([kind, *parts])
    return f"{kind}/{SCHEME}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"


def versioned(signature: str, kind: str) -> str:
    """``signature`` with its scheme: as it is when it says one, else (a bare digest from a
    document older than versioned signatures, or an OOM cause's kind) as scheme 1 of
    ``kind``."""
    if _VERSIONED.fullmatch(signature):
        return signature
    return f"{kind}/1:{signature}"


def scheme_of(signature: str) -> tuple[str, int, str] | None:
    """(kind, version, digest) of a versioned signature, None for any other text."""
    m = _VERSIONED.fullmatch(signature)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else None


def normalise_reference(reference: str) -> str:
    """``Object[].[12]`` -> ``Object[].[]``: which slot holds an object is not part of a bug."""
    return _ARRAY_INDEX.sub("[]", reference)


def leak_signature(leaking_class: str, app_references: list[str]) -> str:
    """A leak: the leaking class plus the app's own references that hold it
    (``Holder.field`` strings, root first)."""
    return _digest(LEAK, [leaking_class, *map(normalise_reference, app_references)])


def library_leak_signature(pattern_name: str, leaking_class: str) -> str:
    """A known platform leak: the pattern plus the class it leaks."""
    return _digest(LIBRARY_LEAK, [pattern_name, leaking_class])


def big_object_signature(class_name: str, holder: str | None) -> str:
    """A big object: its class plus its holder (``Holder.field``, or None)."""
    return _digest(BIG_OBJECT, [class_name, normalise_reference(holder or "")])


def cluster_signature(class_name: str) -> str:
    return _digest(CLASS_CLUSTER, [class_name])


def oom_cause_signature(kind: str) -> str:
    """An OOM cause: its kind (``heap-exhausted``), no digest needed."""
    return f"{OOM_CAUSE}/{SCHEME}:{kind}"
