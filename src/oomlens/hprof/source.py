"""Opening a heap dump file: decompression, mapping, and the header.

Dumps arrive plain, gzip- or zstd-compressed, or packed (``oomlens strip``'s container, see
pack.py); the format is told by the magic bytes, never by the file name alone. A compressed dump
is decompressed once into a temporary file in the system's temp dir and mapped like a plain one,
so every later stage can read records at random offsets without holding the dump in memory.
"""

from __future__ import annotations

import gzip
import mmap
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from oomlens.errors import HprofFormatError, OomlensError
from oomlens.hprof import pack
from oomlens.hprof.constants import HEADER_PREFIX

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_COPY_CHUNK = 1 << 20
_MAX_HEADER_TEXT = 64


@dataclass(frozen=True)
class Header:
    """The fixed part at the start of every HPROF file."""

    version: str  # "1.0.1", "1.0.2" or "1.0.3"
    id_size: int  # 4 or 8
    timestamp_ms: int
    length: int  # bytes before the first record

    @property
    def format_name(self) -> str:
        return f"JAVA PROFILE {self.version}"


def compression_of(head: bytes) -> str | None:
    """'gzip', 'zstd', 'packed' or None (none of them) from a file's first bytes."""
    if pack.is_packed(head):
        return "packed"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


def detect_compression(path: Path) -> str | None:
    """'gzip', 'zstd', 'packed' or None (plain), from the first bytes of the file."""
    with open(path, "rb") as f:
        return compression_of(f.read(len(pack.MAGIC)))


def _decompressing_reader(raw, compression: str):
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    import zstandard

    return zstandard.ZstdDecompressor().stream_reader(raw, closefd=False)


def copy_decompressed(raw: BinaryIO, compression: str | None, out, name: str, progress=None,
                      total: int = 0) -> None:
    """Write the HPROF held in ``raw`` (compressed as ``compression``: gzip, zstd, packed, or
    None for plain) to ``out`` (anything with ``write``). Damaged input is a HprofFormatError
    naming ``name``; what ``out.write`` raises passes through. ``progress`` is called with
    (phase, bytes of ``raw`` read, ``total``)."""
    try:
        if compression == "packed":
            pack.unpack(raw, out, name, progress, total)
            return
        reader = raw if compression is None else _decompressing_reader(raw, compression)
        while chunk := reader.read(_COPY_CHUNK):
            out.write(chunk)
            if progress:
                progress("decompressing", raw.tell(), total)
    except EOFError:
        # A cut-off compressed stream: keep what decompressed, the record scanner reports the rest
        # as a truncated dump, exactly as for a plain file that was cut off.
        pass
    except (OSError, zlib.error) as exc:  # gzip: BadGzipFile, or zlib.error for bad deflate data
        what = "unpack" if compression == "packed" else f"decompress {compression} input"
        raise HprofFormatError(f"{name}: cannot {what}: {exc}") from None
    except Exception as exc:  # zstandard.ZstdError and friends
        if type(exc).__module__.startswith("zstandard"):
            raise HprofFormatError(f"{name}: corrupt {compression} stream: {exc}") from None
        raise


def decompress_to_temp(path: Path, compression: str, progress=None) -> Path:
    """Stream-decompress into a temporary file; the caller deletes it. ``progress`` is called
    with ("decompressing", compressed bytes read, compressed size)."""
    fd, name = tempfile.mkstemp(prefix="oomlens-", suffix=".hprof")
    out_path = Path(name)
    try:
        with open(path, "rb") as raw, os.fdopen(fd, "wb") as out:
            copy_decompressed(raw, compression, out, str(path), progress, path.stat().st_size)
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    return out_path


def parse_header(data: np.ndarray | bytes, name: str) -> Header:
    """Read the NUL-terminated format string, the identifier size and the timestamp."""
    head = bytes(data[: _MAX_HEADER_TEXT + 12])
    if not head.startswith(HEADER_PREFIX):
        raise HprofFormatError(f"{name}: not an HPROF heap dump (no 'JAVA PROFILE' header)")
    end = head.find(b"\0")
    if end < 0:
        raise HprofFormatError(f"{name}: truncated HPROF header")
    version = head[len(HEADER_PREFIX) - 4 : end].decode("ascii", "replace").strip()
    if len(head) < end + 1 + 12:
        raise HprofFormatError(f"{name}: truncated HPROF header")
    id_size, ts_high, ts_low = struct.unpack(">III", head[end + 1 : end + 13])
    if id_size not in (4, 8):
        raise HprofFormatError(f"{name}: unsupported identifier size {id_size} (HPROF uses 4 or 8)")
    return Header(version=version, id_size=id_size, timestamp_ms=(ts_high << 32) | ts_low,
                  length=end + 13)


class DumpFile:
    """A heap dump opened for reading: the header and the bytes, memory-mapped.

    ``data`` is a read-only NumPy view of the whole (decompressed) file. Use as a context manager
    or call ``close()``; a temporary decompressed copy is deleted on close.
    """

    def __init__(self, path: str | os.PathLike, progress=None):
        self.path = Path(path)
        self._temp: Path | None = None
        self._mmap: mmap.mmap | None = None
        if not self.path.exists():
            raise OomlensError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise OomlensError(f"{self.path}: is a directory, not a heap dump")
        try:
            self.compression = detect_compression(self.path)
        except OSError as exc:
            raise OomlensError(f"{self.path}: cannot read: {exc.strerror}") from None
        plain = self.path
        self.file_size = self.path.stat().st_size  # as stored, compressed or not
        if self.compression:
            self._temp = plain = decompress_to_temp(self.path, self.compression, progress)
        try:
            self.size = plain.stat().st_size  # of the HPROF data
            if self.size == 0:
                raise HprofFormatError(f"{self.path}: empty file, not an HPROF heap dump")
            with open(plain, "rb") as f:
                self._mmap = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            self.data = np.frombuffer(self._mmap, dtype=np.uint8)
            self.header = parse_header(self.data, str(self.path))
        except BaseException:
            self.close()
            raise

    def release_pages(self, start: int, stop: int) -> None:
        """Tell the kernel we are done with a byte range for now, so a sequential pass over a
        large dump does not keep every page it touched counted in our resident memory."""
        if self._mmap is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        page = mmap.PAGESIZE
        start = (start // page) * page
        stop = min(self.size, (stop // page) * page)
        if stop > start:
            self._mmap.madvise(mmap.MADV_DONTNEED, start, stop - start)

    def close(self) -> None:
        if self._mmap is not None:
            self.data = None
            try:
                self._mmap.close()
            except BufferError:
                pass  # a view still exists somewhere; the mapping goes when it does
            self._mmap = None
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None

    def __enter__(self) -> DumpFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
