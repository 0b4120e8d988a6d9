"""The dump's own name strings (STRING records): class, field and method names.

Dumps hold tens of thousands of them and most are never needed, so they are decoded on demand
from the mapped file and cached.
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
