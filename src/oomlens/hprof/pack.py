"""The packed container: a heap dump stored as ten zstd-compressed streams instead of one.

zstd on a whole HPROF file finds little to squeeze: object records are addresses, counts and
field values interleaved. ``_pack.c`` splits the records by meaning (ids as deltas from a
prediction, class ids as small indices, references relative to their holder, field words,
array payloads, ...) and each stream is compressed on its own; a stripped 250 MB HotSpot dump
shrinks about twice as much as with zstd alone (README, "strip against copying the file").
The transform is lossless for any bytes, so unpacking gives back exactly the HPROF that was
packed; every command opens a packed file directly (``source.DumpFile`` unpacks it to a
temporary file, as it decompresses .zst and .gz).

File layout (integers big-endian)::

    magic "\\x89OOMPACK", u1 format version (1), u1 id size
    frame*     u1 stream count (10), then per stream: u4 raw length, u4 compressed length;
               then the streams' compressed bytes, each one zstd frame (content size and
               checksum included)
    end        u1 0, u8 HPROF bytes in all

Frames are at most a few MB per stream, so packing and unpacking take bounded memory whatever
the dump size, and a hostile file cannot make the reader allocate more than a frame's declared
(and checked) sizes.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import zstandard

from oomlens.errors import HprofFormatError
from oomlens.hprof import _pack

MAGIC = b"\x89OOMPACK"
FORMAT_VERSION = 1
HEADER = struct.Struct(">8sBB")
STREAM_SIZES = struct.Struct(">II")
END = struct.Struct(">Q")
MAX_STREAM_BYTES = 8 << 20  # a frame's stream is at most 4 MiB (STREAM_CAPACITY); allow slack
OUT_CHUNK = 4 << 20

Progress = Callable[[str, int, int], None]


def is_packed(head: bytes) -> bool:
    return head.startswith(MAGIC)


def pack(src, id_size: int, header_length: int, out: BinaryIO, level: int = 1,
         progress: Progress | None = None, release: Callable[[int, int], None] | None = None
         ) -> int:
    """Write the HPROF bytes ``src`` (a buffer, e.g. a mapped file) to ``out`` packed; returns
    the bytes written. ``release(start, stop)`` is told which input is no longer needed."""
    # One compressor per worker thread (a ZstdCompressor is not shared between threads); zstd
    # releases the GIL, so the two cores compress a frame's streams side by side.
    local = threading.local()

    def compress(stream) -> bytes:
        if not len(stream):
            return b""
        if not hasattr(local, "zstd"):
            local.zstd = zstandard.ZstdCompressor(level=level, write_checksum=True)
        return local.zstd.compress(stream)

    state = _pack.packer(id_size, header_length)
    written = out.write(HEADER.pack(MAGIC, FORMAT_VERSION, id_size))
    released = 0
    total = len(src)
    with ThreadPoolExecutor(max_workers=2) as pool:
        while True:
            streams, done, offset = _pack.pack(state, src)
            if any(len(s) for s in streams):
                chunks = list(pool.map(compress, streams))
                sizes = b"".join(STREAM_SIZES.pack(len(s), len(c))
                                 for s, c in zip(streams, chunks))
                written += out.write(bytes([len(streams)]) + sizes)
                for chunk in chunks:
                    written += out.write(chunk)
            del streams  # views of the packer's buffers: the next call overwrites them
            if release and offset > released:
                release(released, offset)
                released = offset
            if progress:
                progress("packing", offset, total)
            if done:
                break
    written += out.write(b"\0" + END.pack(total))
    return written


def pack_file(hprof: Path, out: BinaryIO, level: int = 1,
              progress: Progress | None = None) -> int:
    """Pack the plain HPROF file ``hprof`` into ``out``, reading it mapped (pages released
    behind the walk, so memory does not grow with the file); returns the bytes written."""
    from oomlens.hprof.source import DumpFile  # source imports this module for reading

    with DumpFile(hprof) as dump:
        return pack(dump.data, dump.header.id_size, dump.header.length, out, level, progress,
                    dump.release_pages)


def unpack(source: BinaryIO, out: BinaryIO, name: str, progress: Progress | None = None,
           total: int = 0) -> int:
    """Write the HPROF held in the packed file ``source`` (read past the magic's check) to
    ``out``; returns its size. Damage is a HprofFormatError naming ``name``."""
    head = source.read(HEADER.size)
    if len(head) < HEADER.size or not is_packed(head):
        raise HprofFormatError(f"{name}: not a packed heap dump")
    _, version, id_size = HEADER.unpack(head)
    if version != FORMAT_VERSION:
        raise HprofFormatError(f"{name}: packed heap dump format {version} is not supported "
                               f"(this oomlens reads format {FORMAT_VERSION})")
    if id_size not in (4, 8):
        raise HprofFormatError(f"{name}: corrupt packed heap dump (identifier size {id_size})")
    decompressor = zstandard.ZstdDecompressor()
    state = _pack.unpacker(id_size)
    buf = bytearray(OUT_CHUNK)
    view = memoryview(buf)
    produced = 0
    while True:
        count = _read(source, 1, name)[0]
        if count == 0:
            break
        if count != _pack.N_STREAMS:
            raise HprofFormatError(f"{name}: corrupt packed heap dump (frame of {count} streams)")
        sizes = [STREAM_SIZES.unpack_from(_read(source, 8, name)) for _ in range(count)]
        for raw, z in sizes:  # before reading: a u4 size must not make us allocate 4 GiB
            _check_sizes(raw, z, name)
        streams = tuple(_decompress(decompressor, _read(source, z, name), raw, name)
                        for raw, z in sizes)
        _pack.feed(state, streams)
        while True:
            n, status = _pack.unpack(state, buf)
            out.write(view[:n])
            produced += n
            if status < 0:
                raise HprofFormatError(f"{name}: corrupt packed heap dump (bad record at HPROF "
                                       f"offset ~{produced:,})")
            if status == 0:
                break
        unread, _ = _pack.leftover(state)
        if unread:
            raise HprofFormatError(f"{name}: corrupt packed heap dump ({unread:,} bytes of a "
                                   "frame unused)")
        if progress:
            progress("unpacking", source.tell(), total)
    (expected,) = END.unpack(_read(source, END.size, name))
    _, pending = _pack.leftover(state)
    if pending or expected != produced:
        raise HprofFormatError(f"{name}: corrupt packed heap dump (holds {produced:,} bytes of "
                               f"HPROF, its end says {expected:,})")
    return produced


def _read(source: BinaryIO, n: int, name: str) -> bytes:
    data = source.read(n)
    if len(data) != n:
        raise HprofFormatError(f"{name}: truncated packed heap dump")
    return data


def _check_sizes(raw: int, compressed: int, name: str) -> None:
    """A stream's sizes as its frame declares them, before anything is read or allocated: at
    most MAX_STREAM_BYTES, and no more compressed bytes than zstd can make of that (its
    compress bound is raw + raw/256 + a few hundred bytes)."""
    if raw > MAX_STREAM_BYTES:
        raise HprofFormatError(f"{name}: corrupt packed heap dump (a stream of {raw:,} bytes)")
    if compressed > raw + (raw >> 7) + 1024:
        raise HprofFormatError(f"{name}: corrupt packed heap dump ({compressed:,} compressed "
                               f"bytes for a stream of {raw:,})")


def _decompress(decompressor, chunk: bytes, raw: int, name: str) -> bytes:
    if raw == 0 and not chunk:
        return b""
    try:
        if zstandard.frame_content_size(chunk) != raw:
            raise HprofFormatError(f"{name}: corrupt packed heap dump (stream sizes disagree)")
        data = decompressor.decompress(chunk, max_output_size=raw)
    except zstandard.ZstdError as exc:
        raise HprofFormatError(f"{name}: corrupt packed heap dump ({exc})") from None
    if len(data) != raw:
        raise HprofFormatError(f"{name}: corrupt packed heap dump (stream sizes disagree)")
    return data
