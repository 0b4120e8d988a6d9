"""oomlens: find out why a Java or Android app ran out of memory, from its heap dump."""

from __future__ import annotations

import os

from oomlens.errors import HprofFormatError, ObjectNotFoundError, OomlensError

__version__ = "0.1.0"
__all__ = ["open_heap", "OomlensError", "HprofFormatError", "ObjectNotFoundError"]


def open_heap(path: str | os.PathLike, dump_number: int = 0, progress=None, mapping=None):
    """Index a heap dump (plain, .gz or .zst) and return an ``AnalyzedHeap``.

    ``dump_number`` picks one of several heap dumps in one file (0 = the first). ``progress`` is
    an optional callable ``(phase, done, total)``. ``mapping`` is the ProGuard/R8 mapping file of
    an obfuscated build (a path, or a ``retrace.mapping.Mapping``): class and field names are
    then the original ones (``heap.retrace`` says what was renamed). Retained sizes, dominators
    and paths are computed on first use. Close the heap (or use it as a context manager) to
    release the file.
    """
    from oomlens.analysis.analyzed import AnalyzedHeap

    if mapping is not None:
        from oomlens.retrace.mapping import Mapping, load_mapping

        if not isinstance(mapping, Mapping):
            mapping = load_mapping(mapping)  # before the dump: a bad mapping fails fast
    heap = AnalyzedHeap.open(path, dump_number, progress)
    if mapping is not None:
        from oomlens.retrace.apply import apply_mapping

        try:
            apply_mapping(heap, mapping)
        except BaseException:
            heap.close()
            raise
    return heap
