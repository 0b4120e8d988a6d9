"""Every strongly reachable object as CSV: object_id,class,shallow_bytes,retained_bytes,dominator_id.

Millions of rows: a Python loop would take longer than the whole analysis, so a kernel formats
the rows into a byte buffer a chunk at a time. Class names are CSV-quoted once per class.
"""

from __future__ import annotations

import csv
import io

import numpy as np
from numba import njit

from oomlens.errors import OomlensError

HEADER = "object_id,class,shallow_bytes,retained_bytes,dominator_id\n"
ROWS_PER_CHUNK = 1 << 18
CHUNK_BYTES = 32 << 20  # fewer rows a chunk when class names are long (a hostile mapping's)
_MAX_NUMBER_TEXT = 24  # "0x" + 16 hex digits, or 20 decimal digits, with room to spare
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
_ROOT = np.frombuffer(b"root", np.uint8)


@njit(cache=True, inline="always")
def _put_hex(buf, w, value):
    buf[w] = 48  # '0'
    buf[w + 1] = 120  # 'x'
    w += 2
    v = np.uint64(value)
    digits = 1
    t = v >> np.uint64(4)
    while t:
        digits += 1
        t >>= np.uint64(4)
    for k in range(digits - 1, -1, -1):
        buf[w + k] = _HEX[np.int64(v & np.uint64(15))]
        v >>= np.uint64(4)
    return w + digits


@njit(cache=True, inline="always")
def _put_int(buf, w, value):
    v = np.int64(value)
    digits = 1
    t = v // 10
    while t:
        digits += 1
        t //= 10
    for k in range(digits - 1, -1, -1):
        buf[w + k] = 48 + v % 10
        v //= 10
    return w + digits


@njit(cache=True)
def _format_rows(order, first, last, ids, name_of, name_begin, names, shallow, retained, idom,
                 buf):
    w = 0
    for r in range(first, last):
        i = order[r]
        w = _put_hex(buf, w, ids[i])
        buf[w] = 44  # ','
        w += 1
        k = name_of[i]
        for j in range(name_begin[k], name_begin[k + 1]):
            buf[w] = names[j]
            w += 1
        buf[w] = 44
        w = _put_int(buf, w + 1, shallow[i])
        buf[w] = 44
        w = _put_int(buf, w + 1, retained[i])
        buf[w] = 44
        w += 1
        d = idom[i]
        if d == -2:
            for j in range(4):
                buf[w + j] = _ROOT[j]
            w += 4
        else:
            w = _put_hex(buf, w, ids[d])
        buf[w] = 10  # '\n'
        w += 1
    return w


def _csv_field(text: str) -> bytes:
    out = io.StringIO()
    # the writer quotes a field holding a character of its line terminator: with "\r\n", a
    # name with a line break in it (a dump's names may hold anything) stays one field
    csv.writer(out, lineterminator="\r\n").writerow([text])
    return out.getvalue()[:-2].encode("utf-8")


def _name_table(heap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per object an index into a table of quoted names: its class's name, or for a class
    object ``class <name>``."""
    classes = heap.index.classes
    n_classes = len(classes)
    encoded = [_csv_field(n) for n in classes.names]
    encoded += [_csv_field(f"class {n}") for n in classes.names]
    begin = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(e) for e in encoded], out=begin[1:])
    names = np.frombuffer(b"".join(encoded), np.uint8)
    name_of = heap.index.objects.class_index.astype(np.int32)  # a copy we may change
    has_object = classes.object_index >= 0
    name_of[classes.object_index[has_object]] = n_classes + np.nonzero(has_object)[0]
    return name_of, begin, names


def write_dominator_csv(heap, path: str, progress=None) -> int:
    """Write every strongly reachable object in dominator-tree preorder. Returns rows written."""
    tree = heap.dominator_tree
    objects = heap.index.objects
    name_of, name_begin, names = _name_table(heap)
    order = tree.preorder
    row_bytes = 4 * _MAX_NUMBER_TEXT + 5 + int(np.diff(name_begin).max(initial=0))
    rows_per_chunk = max(1, min(ROWS_PER_CHUNK, CHUNK_BYTES // row_bytes))
    buf = np.empty(rows_per_chunk * row_bytes, np.uint8)
    try:
        with open(path, "wb") as f:
            f.write(HEADER.encode())
            for first in range(0, len(order), rows_per_chunk):
                last = min(len(order), first + rows_per_chunk)
                used = _format_rows(order, first, last, objects.ids, name_of, name_begin, names,
                                    objects.shallow, tree.retained, tree.idom, buf)
                f.write(buf[:used])
                if progress:
                    progress("writing CSV", last, len(order))
    except OSError as exc:
        raise OomlensError(f"cannot write {path}: {exc.strerror}") from None
    return len(order)
