"""The ids strip marks (the arrays that back Strings and Bitmaps, the names of threads), held in
memory bounded by their address span, not by how many there are.

The survey finds marked ids one instance at a time, in file order, and only knows at the end
which of them to keep (a String may be a thread's name, and the Thread may come after it). So
the ids go through a ``MarkSpool`` first (a few chunks in memory, the rest in a temporary file,
with their extent measured as they arrive), and ``build_mark_set`` then makes the exact set the
rewrite kernel looks them up in: a bitset over their span, or a sorted array when that is
smaller. Ids can be taken out of a set again (``MarkSet.discard``) without rebuilding it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

import numpy as np

from oomlens.hprof import rewrite as R

MARK_CHUNK = 1 << 16  # ids buffered in the kernel before the driver takes them
_U64 = 1 << 64


class MarkSpool:
    """Rows of ``columns`` int64 values (the first is the marked id, the others what the caller
    needs beside it) as the kernel hands them over, chunk by chunk: kept in memory up to
    ``MEMORY_BYTES``, then spilled to an unnamed temporary file, so memory does not grow with
    them. It measures the ids' extent on the way (``build_mark_set`` sizes its bitset by it)."""

    MEMORY_BYTES = 4 * MARK_CHUNK * 8  # 2 MiB: four chunks of ids, two of (id, String) pairs

    def __init__(self, columns: int = 1):
        self.columns = columns
        self.count = 0
        self.low = self.high = self.first = 0
        self.or_delta = 0  # OR of (id - first id) mod 2^64: its lowest set bit is the granularity
        self._chunks: list[np.ndarray] = []
        self._memory_bytes = 0
        self._file = None

    def add(self, rows: np.ndarray) -> None:
        rows = np.array(rows, np.int64).reshape(-1, self.columns)  # a copy: the kernel reuses
        if len(rows) == 0:
            return
        ids = rows[:, 0]
        if self.count == 0:
            self.first = self.low = self.high = int(ids[0])
        self.low, self.high = min(self.low, int(ids.min())), max(self.high, int(ids.max()))
        deltas = ids.view(np.uint64) - np.uint64(self.first % _U64)
        self.or_delta |= int(np.bitwise_or.reduce(deltas))
        self.count += len(rows)
        if self._file is None and self._memory_bytes + rows.nbytes <= self.MEMORY_BYTES:
            self._chunks.append(rows)
            self._memory_bytes += rows.nbytes
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="oomlens-marks-")  # noqa: SIM115 - see close()
        self._file.write(rows.tobytes())

    def chunks(self):
        """The rows, in the order they came, as (n, columns) arrays."""
        yield from self._chunks
        if self._file is not None:
            self._file.flush()
            self._file.seek(0)
            while raw := self._file.read(MARK_CHUNK * 8 * self.columns):
                yield np.frombuffer(raw, np.int64).reshape(-1, self.columns)

    def close(self) -> None:
        self._chunks = []
        self._memory_bytes = 0
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass
class MarkSet:
    """An exact set of ids: bit (id - base) >> shift of ``bits`` (MARKS_BITSET), or ``ids``
    sorted (MARKS_SORTED), with ``removed`` flagging the sorted ids discarded since (so that a
    discard does not copy the array; ``plan_arrays`` drops them once)."""

    kind: int = R.MARKS_NONE
    base: int = 0
    shift: int = 0
    nbits: int = 0
    bits: np.ndarray = None
    ids: np.ndarray = None
    removed: np.ndarray = None

    def __post_init__(self):
        self.bits = np.zeros(0, np.uint8) if self.bits is None else self.bits
        self.ids = np.zeros(0, np.int64) if self.ids is None else self.ids
        self.removed = np.zeros(len(self.ids), np.bool_) if self.removed is None else self.removed

    def _bits_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(byte, bit mask) in ``bits`` of each of ``ids`` in the bitset's span and on its grid,
        and which those are. The distance to the base is taken modulo 2^64, as
        ``build_mark_set`` measures the span and the kernel's ``is_marked`` reads it back, so
        ids more than 2^63 apart still get their own bits."""
        d = np.ascontiguousarray(ids, np.int64).view(np.uint64) - np.uint64(self.base % _U64)
        bit = d >> np.uint64(self.shift)
        inside = ((d & np.uint64((1 << self.shift) - 1)) == 0) & (bit < np.uint64(self.nbits))
        bit = bit[inside]
        mask = np.left_shift(np.uint8(1), (bit & np.uint64(7)).astype(np.uint8))
        return bit >> np.uint64(3), mask, inside

    def _sorted_hits(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found, position in ``self.ids``) of each of ``ids`` (the set is not empty)."""
        pos = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return (self.ids[pos] == ids) & ~self.removed[pos], pos

    def add_bits(self, ids: np.ndarray) -> None:
        """Set the bits of ``ids`` (all inside the span the bitset was made for)."""
        byte, mask, _ = self._bits_of(ids)
        # ufunc.at, not ``bits[i] |= m``: several ids may set bits of the same byte
        np.bitwise_or.at(self.bits, byte, mask)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, np.int64)
        out = np.zeros(len(ids), np.bool_)
        if self.kind == R.MARKS_BITSET:
            byte, mask, inside = self._bits_of(ids)
            out[inside] = (self.bits[byte] & mask) != 0
        elif self.kind == R.MARKS_SORTED and len(self.ids):
            out, _ = self._sorted_hits(ids)
        return out

    def discard(self, ids: np.ndarray) -> None:
        """Take ``ids`` out of the set (those not in it are ignored)."""
        ids = np.asarray(ids, np.int64)
        if self.kind == R.MARKS_BITSET:
            byte, mask, _ = self._bits_of(ids)
            np.bitwise_and.at(self.bits, byte, ~mask)
        elif self.kind == R.MARKS_SORTED and len(self.ids):
            found, pos = self._sorted_hits(ids)
            self.removed[pos[found]] = True

    def plan_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(meta, bits, sorted ids) as ``rewrite.make_plan`` takes them (the discarded sorted
        ids are dropped for good, so that only one copy of the rest is kept)."""
        if self.removed.any():
            self.ids = self.ids[~self.removed]
            self.removed = np.zeros(len(self.ids), np.bool_)
        return (np.array([self.kind, self.base, self.shift, self.nbits], np.int64), self.bits,
                self.ids)


def build_mark_set(spool: MarkSpool) -> MarkSet:
    """The ids of ``spool`` (its first column) as the smaller of two exact structures.

    A bitset over [low, high] in steps of the ids' granularity g (the largest power of two
    dividing every id's distance to the others: 8 for object addresses) takes
    (high - low) / g / 8 bytes: 1/64 of the address span of the marked arrays, e.g. 4 MB for
    a 256 MB heap, at most 64 MiB for 4-byte ids whatever the dump size, and the zero pages of
    the gaps between heap regions are never touched (NumPy takes them from calloc / mmap). A
    sorted array of the ids takes 8 bytes per marked array. The bitset is used whenever it is
    not bigger (every real dump: 64 ids' worth of address span per String is 512 bytes), the
    sorted array only for ids scattered over a huge span (e.g. hand-made or damaged dumps), so
    memory is min(span / 64, 8 * marks): bounded by the heap's address span, not its objects.
    """
    if spool.count == 0:
        return MarkSet()
    shift = 0
    if spool.or_delta:
        shift = (spool.or_delta & -spool.or_delta).bit_length() - 1
    span = (spool.high - spool.low) % _U64
    nbits = (span >> shift) + 1
    bitset_bytes = (nbits + 7) // 8
    if bitset_bytes <= max(8 * spool.count, 1 << 20):
        marks = MarkSet(R.MARKS_BITSET, spool.low, shift, nbits, np.zeros(bitset_bytes, np.uint8))
        for chunk in spool.chunks():
            marks.add_bits(chunk[:, 0])
        return marks
    ids = np.unique(np.concatenate([chunk[:, 0] for chunk in spool.chunks()]))
    return MarkSet(R.MARKS_SORTED, ids=ids)
