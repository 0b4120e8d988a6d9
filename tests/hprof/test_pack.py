"""The packed container (hprof/pack.py, _pack.c): lossless for any bytes, smaller than zstd on
real dumps, and a damaged or hostile packed file is a one-line error, never a crash."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import struct
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hprof_builder import HprofBuilder
from mutations import damaged_copies
from oomlens.errors import HprofFormatError
from oomlens.hprof import constants as C
from oomlens.hprof import pack as P
from oomlens.hprof.source import DumpFile, parse_header

DATA = Path(__file__).parents[1] / "data"
DUMPS = sorted(p for p in DATA.glob("*.hprof.gz") if p.stat().st_size < 8 << 20)


def _header_of(data: bytes) -> tuple[int, int]:
    """(id size, header length) as the packer is told them; 8, 0 for bytes that are no HPROF
    (the packer must still take them)."""
    try:
        h = parse_header(data, "x")
        return h.id_size, h.length
    except HprofFormatError:
        return 8, 0


def packed(data: bytes, level: int = 1) -> bytes:
    out = io.BytesIO()
    id_size, header_length = _header_of(data)
    P.pack(data, id_size, header_length, out, level)
    return out.getvalue()


def unpacked(blob: bytes) -> bytes:
    out = io.BytesIO()
    P.unpack(io.BytesIO(blob), out, "test.pack")
    return out.getvalue()


def frames(blob: bytes) -> list[list[tuple[int, int]]]:
    """The (raw, compressed) stream sizes of each frame, read by the layout pack.py documents."""
    at, out = P.HEADER.size, []
    while blob[at] != 0:
        sizes = [P.STREAM_SIZES.unpack_from(blob, at + 1 + 8 * i) for i in range(blob[at])]
        out.append(sizes)
        at += 1 + 8 * len(sizes) + sum(z for _, z in sizes)
    assert len(blob) == at + 1 + P.END.size
    return out


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.name)
def test_every_real_dump_comes_back_byte_for_byte(dump):
    data = gzip.decompress(dump.read_bytes())
    blob = packed(data)
    back = unpacked(blob)
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()


def test_packed_is_much_smaller_than_zstd_of_the_same_hotspot_dump():
    data = gzip.decompress((DATA / "openjdk_jdk11_04_x64.hprof.gz").read_bytes())
    zstd = len(zstandard.ZstdCompressor(level=3).compress(data))
    pack3 = len(packed(data, level=3))
    # measured: 14.1 MB of HPROF, zstd 2.9 MB, packed 2.0 MB
    assert pack3 < 0.8 * zstd, (pack3, zstd)


def test_records_that_span_frames_come_back():
    """Payloads and element lists longer than a frame's stream (4 MiB) continue in the next
    frame, as do a long non-heap record and many small objects."""
    rng = random.Random(7)
    b = HprofBuilder()
    big_bytes = rng.randbytes(9 << 20)
    elements = [0x1000_0000 + 16 * rng.randrange(1 << 20) if i % 5 else 0
                for i in range(700_000)]
    b.record(C.TAG_STRING, b.id(1) + rng.randbytes(5 << 20))
    b.load_class(0x100, "Thing")
    b.heap_dump(
        b.class_dump(0x100, fields=[("a", C.TYPE_OBJECT), ("n", C.TYPE_INT)]),
        b.primitive_array(0x2000_0000, C.TYPE_BYTE, big_bytes),
        b.object_array(0x2100_0000, 0x200, elements),
        *(b.instance(0x3000_0000 + 24 * i, 0x100,
                     (0x3000_0000 + 24 * (i + 1)).to_bytes(8, "big") + struct.pack(">i", i))
          for i in range(200_000)))
    b.heap_dump_end()
    data = b.bytes()
    blob = packed(data)
    assert len(frames(blob)) >= 4
    assert unpacked(blob) == data


def test_an_instance_too_big_for_a_frame_goes_through_verbatim():
    b = HprofBuilder(id_size=4)
    b.heap_dump(b.class_dump(0x10), b.instance(0x20, 0x10, bytes(range(256)) * 1024))
    data = b.bytes()
    assert unpacked(packed(data)) == data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_any_bytes_come_back(data):
    assert unpacked(packed(data)) == data


def _small_dumps() -> list[bytes]:
    return [gzip.decompress(p.read_bytes()) for p in DUMPS
            if p.name in ("oracle_jdk8_05_x64.hprof.gz", "dalvik_leak_service_binder.hprof.gz")]


SMALL = _small_dumps()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_copies(SMALL))
def test_damaged_dumps_come_back(data):
    """Whatever the packer cannot read as records (bad tags, lengths past the end, a cut file)
    goes through verbatim."""
    assert unpacked(packed(data)) == data


BLOB = packed(SMALL[0])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_copies([BLOB], max_patches=4))
def test_a_damaged_packed_file_is_an_error_not_a_crash(blob):
    try:
        unpacked(blob)
    except HprofFormatError as exc:
        assert "\n" not in str(exc) and "test.pack" in str(exc)


@pytest.mark.parametrize("cut", [0, 5, 10, 11, 40, len(BLOB) // 2, len(BLOB) - 9, len(BLOB) - 1])
def test_a_cut_packed_file_says_so(cut):
    with pytest.raises(HprofFormatError, match="test.pack"):
        unpacked(BLOB[:cut])


def test_stream_sizes_beyond_the_limit_are_refused_before_allocating():
    head = P.HEADER.pack(P.MAGIC, P.FORMAT_VERSION, 8)
    frame = bytes([10]) + P.STREAM_SIZES.pack(1 << 31, 20) * 10 + b"\0" * 200
    with pytest.raises(HprofFormatError, match="a stream of"):
        unpacked(head + frame)


def test_a_packed_file_opens_like_any_dump(tmp_path):
    data = gzip.decompress((DATA / "oracle_jdk8_05_x64.hprof.gz").read_bytes())
    path = tmp_path / "dump.oomp"
    path.write_bytes(packed(data))
    with DumpFile(path) as dump:
        assert dump.compression == "packed"
        assert bytes(dump.data) == data
