"""The dump's own name strings (STRING records): class, field and method names.

Dumps hold tens of thousands of them and most are never needed, so they are decoded on demand
from the mapped file and cached.

Class names come in two forms. HotSpot writes the JVM's internal form (``java/lang/String``,
arrays as descriptors: ``[Ljava/lang/Object;``, ``[[I``); Android writes Java names
(``java.lang.String``, ``java.lang.Object[]``). oomlens shows Java names; a rewriter writes a
dump's own form back.
"""

from __future__ import annotations

import numpy as np


class NameTable:
    """Look up an HPROF STRING record by its id."""

    def __init__(self, data: np.ndarray, ids: np.ndarray, offsets: np.ndarray,
                 lengths: np.ndarray):
        order = np.argsort(ids, kind="stable")
        self._data = data
        self._ids = ids[order]
        self._offsets = offsets[order]
        self._lengths = lengths[order]
        self._cache: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def get(self, name_id: int, default: str | None = None) -> str | None:
        cached = self._cache.get(name_id)
        if cached is not None:
            return cached
        i = int(np.searchsorted(self._ids, name_id))
        if i >= len(self._ids) or self._ids[i] != name_id:
            return default
        start = int(self._offsets[i])
        raw = bytes(self._data[start : start + int(self._lengths[i])])
        text = raw.decode("utf-8", errors="replace")
        self._cache[name_id] = text
        return text

    def require(self, name_id: int, what: str) -> str:
        """The name, or a placeholder that says which id was missing (damaged dumps)."""
        text = self.get(name_id)
        return text if text is not None else f"<{what} name 0x{name_id & (2**64 - 1):x}>"


_PRIMITIVE_DESCRIPTORS = {"Z": "boolean", "C": "char", "F": "float", "D": "double", "B": "byte",
                          "S": "short", "I": "int", "J": "long"}
_DESCRIPTOR_OF = {name: code for code, name in _PRIMITIVE_DESCRIPTORS.items()}


def java_class_name(vm_name: str) -> str:
    """``java/lang/String`` -> ``java.lang.String``, ``[[I`` -> ``int[][]``,
    ``[Ljava/lang/Object;`` -> ``java.lang.Object[]``. Android already writes Java names."""
    dims = 0
    while dims < len(vm_name) and vm_name[dims] == "[":
        dims += 1
    if dims == 0:
        return vm_name.replace("/", ".")
    element = vm_name[dims:]
    if element.startswith("L") and element.endswith(";"):
        element = element[1:-1].replace("/", ".")
    elif element in _PRIMITIVE_DESCRIPTORS:
        element = _PRIMITIVE_DESCRIPTORS[element]
    else:
        return vm_name.replace("/", ".")
    return element + "[]" * dims


def is_internal_form(vm_name: str) -> bool:
    """Whether a dump's class name is written in the JVM's internal form (HotSpot)."""
    return "/" in vm_name or vm_name.startswith("[")


def vm_class_name(java_name: str, internal: bool) -> str:
    """The inverse of ``java_class_name``: ``com.example.Feed[]`` -> ``[Lcom/example/Feed;``
    when ``internal`` (HotSpot), else the Java name unchanged (Android)."""
    if not internal:
        return java_name
    dims = 0
    while java_name.endswith("[]"):
        java_name, dims = java_name[:-2], dims + 1
    if dims == 0:
        return java_name.replace(".", "/")
    code = _DESCRIPTOR_OF.get(java_name)
    return "[" * dims + (code if code else "L" + java_name.replace(".", "/") + ";")
