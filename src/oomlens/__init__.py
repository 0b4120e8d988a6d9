"""oomlens: find out why a Java or Android app ran out of memory, from its heap dump."""

from __future__ import annotations

import os

from oomlens.errors import HprofFormatError, ObjectNotFoundError, OomlensError

__version__ = "0.1.0"
__all__ = ["open_heap", "OomlensError", "HprofFormatError", "ObjectNotFoundError"]


def open_heap(path: str | os.PathLike, dump_number: int = 0, progress=None):
    """Index a heap dump (plain, .gz or .zst) and return an ``AnalyzedHeap``.

    ``dump_number`` picks one of several heap dumps in one file (0 = the first). ``progress`` is
    an optional callable ``(phase, done, total)``. Retained sizes, dominators and paths are
    computed on first use. Close the heap (or use it as a context manager) to release the file.
    """
    from oomlens.analysis.analyzed import AnalyzedHeap

    return AnalyzedHeap.open(path, dump_number, progress)
