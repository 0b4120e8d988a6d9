"""Structure-aware damage to real heap dumps, for the hostile-input campaign
(tests/hprof/test_fuzz_campaign.py, ``make fuzz``).

``Layout.of(data)`` reads a dump's record structure with its own small walker (written apart from
oomlens's readers, so that it does not share their mistakes): the top-level records (u1 tag,
u4 time, u4 length), the heap dump sub-records inside HEAP_DUMP / HEAP_DUMP_SEGMENT records and,
for each, the fields that say how long something is or how to read it: record lengths, instance
data lengths, array lengths, element types, class dumps' constant pool / static / field counts
and types, the header's identifier size. ``mutate`` then damages a copy where it matters:

- one of those fields set to 0, to its value +-1..8, to 0xFFFFFFFF, 0x7FFFFFFF or at random;
- a sub-record's or a record's tag replaced;
- the identifier size set to 0, 1, 3, 5, 16, 0xFFFFFFFF, or swapped between 4 and 8;
- the file cut at an offset strictly inside a sub-record (or a record header);
- a record duplicated or dropped;
- runs of random bytes written over it (what tests/support/mutations.py does).

``mutate_packed`` does the same for oomlens's packed container (pack.py): its frame and stream
size fields, its header and end, and, most usefully, the *contents* of the decompressed streams,
recompressed with correct sizes so that the damage reaches the C unpacker rather than being
caught by zstd's checksum. ``damage_compressed`` damages a gzip or zstd container's own bytes.

Every choice comes from the ``random.Random`` passed in, so a seed reproduces a mutant exactly,
and every function returns the list of what it did, in words, for the assertion message.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

import zstandard

HEADER_PREFIX = b"JAVA PROFILE 1.0."
HEAP_TAGS = (0x0C, 0x1C)
# GC root sub-record tag -> bytes after its object id (an id more for JNI global: -1)
ROOT_EXTRA = {0xFF: 0, 0x05: 0, 0x07: 0, 0x89: 0, 0x8A: 0, 0x8B: 0, 0x8C: 0, 0x8D: 0, 0x90: 0,
              0x01: -1, 0x02: 8, 0x03: 8, 0x08: 8, 0x8E: 8, 0x04: 4, 0x06: 4}
TYPE_SIZES = {4: 1, 8: 1, 5: 2, 9: 2, 6: 4, 10: 4, 7: 8, 11: 8}  # 2 (object) is the id size
KNOWN_TAGS = [0x20, 0x21, 0x22, 0x23, 0xC3, 0xFE, *ROOT_EXTRA]
RECORD_TAGS = [0x01, 0x02, 0x04, 0x05, 0x0C, 0x1C, 0x2C, 0x0A, 0x07]
TYPE_BYTES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x7F, 0xFF]
ID_SIZES = [0, 1, 3, 5, 16, 0xFFFFFFFF]


@dataclass(frozen=True)
class Field:
    """An integer of the file that tells a reader how to go on."""

    kind: str
    offset: int
    width: int  # bytes: 1, 2 or 4

    def read(self, data) -> int:
        return int.from_bytes(data[self.offset: self.offset + self.width], "big")


@dataclass
class Layout:
    """Where the records, sub-records and their structural fields of a dump are."""

    id_size: int
    header_length: int
    records: list[tuple[int, int, int]] = field(default_factory=list)  # (offset, tag, end)
    subs: list[tuple[int, int, int]] = field(default_factory=list)  # (offset, tag, end)
    fields: dict[str, list[Field]] = field(default_factory=dict)
    object_ids: list[int] = field(default_factory=list)  # some, for `oomlens path`
    class_ids: list[int] = field(default_factory=list)
    # ids that name a class: an instance's or an object array's class, a class's superclass
    class_refs: dict[str, list[Field]] = field(default_factory=dict)
    class_names: list[tuple[int, int]] = field(default_factory=list)  # STRING records naming a
    # class (by a LOAD_CLASS): (offset, end)

    @classmethod
    def of(cls, data: bytes) -> Layout:
        end = data.index(b"\0")
        id_size = struct.unpack_from(">I", data, end + 1)[0]
        layout = cls(id_size, end + 13)
        layout._add("id size", end + 1, 4)
        p = layout.header_length
        strings: dict[bytes, tuple[int, int]] = {}
        named: set[bytes] = set()
        n = id_size if id_size in (4, 8) else 8
        while p + 9 <= len(data):
            tag, length = data[p], struct.unpack_from(">I", data, p + 5)[0]
            stop = min(p + 9 + length, len(data))
            layout.records.append((p, tag, stop))
            if tag == 0x01 and length >= n:
                strings[data[p + 9: p + 9 + n]] = (p, stop)
            elif tag == 0x02 and length >= 8 + 2 * n:
                named.add(data[p + 9 + 8 + n: p + 9 + 8 + 2 * n])
            layout._add("record tag", p, 1)
            layout._add("record length", p + 5, 4)
            if tag in HEAP_TAGS:
                layout._sub_records(data, p + 9, stop)
            p = stop
        layout.class_names = [strings[i] for i in named if i in strings]
        layout.class_names.sort()
        return layout

    def _add(self, kind: str, offset: int, width: int) -> None:
        self.fields.setdefault(kind, []).append(Field(kind, offset, width))

    def _sub_records(self, data: bytes, p: int, end: int) -> None:
        n = self.id_size
        u2 = lambda q: struct.unpack_from(">H", data, q)[0]  # noqa: E731
        u4 = lambda q: struct.unpack_from(">I", data, q)[0]  # noqa: E731
        while p < end:
            tag, start = data[p], p
            if tag in ROOT_EXTRA:
                extra = ROOT_EXTRA[tag]
                p += 1 + n + (n if extra < 0 else extra)
            elif tag == 0x21:
                self._add("instance data length", p + 1 + 2 * n + 4, 4)
                self.class_refs.setdefault("instance class id", []).append(
                    Field("instance class id", p + 1 + n + 4, n))
                p += 1 + 2 * n + 8 + u4(p + 1 + 2 * n + 4)
                self._object(data, start)
            elif tag == 0x22:
                self._add("object array length", p + 1 + n + 4, 4)
                self.class_refs.setdefault("object array class id", []).append(
                    Field("object array class id", p + 1 + n + 8, n))
                p += 1 + 2 * n + 8 + u4(p + 1 + n + 4) * n
                self._object(data, start)
            elif tag in (0x23, 0xC3):
                self._add("primitive array length", p + 1 + n + 4, 4)
                self._add("array element type", p + 1 + n + 8, 1)
                size = TYPE_SIZES.get(data[p + 1 + n + 8])
                if size is None:
                    return
                p += 1 + n + 9 + (u4(p + 1 + n + 4) * size if tag == 0x23 else 0)
                self._object(data, start)
            elif tag == 0x20:
                self.class_ids.append(int.from_bytes(data[p + 1: p + 1 + n], "big"))
                self.class_refs.setdefault("superclass id", []).append(
                    Field("superclass id", p + 1 + n + 4, n))
                q = p + 1 + 7 * n + 4
                self._add("class instance size", q, 4)
                q += 4
                for kind, entry in (("constant pool count", None), ("statics count", n),
                                    ("fields count", n)):
                    self._add(kind, q, 2)
                    count, q = u2(q), q + 2
                    for _ in range(count):
                        at = q + (2 if entry is None else entry)
                        self._add("field type" if kind == "fields count" else
                                  "static or constant type", at, 1)
                        size = n if data[at] == 2 else TYPE_SIZES.get(data[at])
                        if size is None:
                            return
                        q = at + 1 + (size if kind != "fields count" else 0)
                p = q
            elif tag == 0xFE:
                p += 1 + 4 + n
            else:
                return
            if p > end:
                return
            self.subs.append((start, tag, p))
            self._add("sub-record tag", start, 1)

    def _object(self, data: bytes, p: int) -> None:
        """Keep the id of the object at ``p`` for `oomlens path`: a sample of up to 4096, spread
        over the dump (about one object in seven, by offset)."""
        if len(self.object_ids) < 4096 and p % 7 == 0:
            self.object_ids.append(int.from_bytes(data[p + 1: p + 1 + self.id_size], "big"))


def _value_for(rng: random.Random, original: int, width: int) -> int:
    top = (1 << (8 * width)) - 1
    choice = rng.randrange(8)
    if choice == 0:
        return 0
    if choice <= 2:
        return (original + rng.choice([-1, 1]) * rng.randint(1, 8)) & top
    if choice == 3:
        return top
    if choice == 4:
        return top >> 1
    if choice == 5:
        return (top >> 1) + 1
    if choice == 6:
        return min(top, original * rng.choice([2, 16, 256]) + 1)
    return rng.randint(0, top)


def _put(data: bytearray, offset: int, width: int, value: int) -> None:
    data[offset: offset + width] = value.to_bytes(width, "big")


# weights of the kinds of damage in ``mutate``
_OPS = [("field", 10), ("class", 2), ("name", 2), ("tag", 2), ("id size", 1), ("truncate", 3),
        ("duplicate", 1), ("drop", 1), ("patch", 3)]
# what a class (or field, method) name may be made of in a hostile dump
HOSTILE_NAMES = [b"Evil\nSecond line", b"cr\rlf\r\n", b"[bold red]X[/]", b"\x1b]0;pwned\x07",
                 b"\x1b[2J\x1b[31mred", b"<script>alert(1)</script>", b"a\x00b", b"\xff\xfe\xc3(",
                 b"", b"A" * 100_000, b"java/lang/String", b"[[[[[[[[[[I", b"Ljava/lang/Object;",
                 b"\xe2\x80\xae" + b"gnp.exe", b"%s%n%x{0}", b"com/x/" + b"$" * 5000]


def mutate(base: bytes, layout: Layout, rng: random.Random,
           max_steps: int = 3) -> tuple[bytes, list[str]]:
    """A damaged copy of ``base`` (whose layout is ``layout``) and what was done to it."""
    data = bytearray(base)
    steps: list[str] = []
    cut: int | None = None
    moves: list[tuple[int, str, tuple]] = []  # duplicate, drop, rename: (offset, op, what)
    kinds, weights = zip(*_OPS)
    for _ in range(rng.randint(1, max_steps)):
        op = rng.choices(kinds, weights)[0]
        if op == "field":
            kind = rng.choice(sorted(k for k in layout.fields if k not in ("id size", "record tag",
                                                                           "sub-record tag")))
            f = rng.choice(layout.fields[kind])
            old = f.read(base)
            new = (rng.choice(TYPE_BYTES) if f.width == 1 else _value_for(rng, old, f.width))
            if new == old:
                new = (old + 1) % (1 << (8 * f.width))
            _put(data, f.offset, f.width, new)
            steps.append(f"{kind} at {f.offset}: {old} -> {new}")
        elif op == "class" and layout.class_refs:
            # another class (a superclass cycle, a class whose layout does not fit the data),
            # the object itself, none, or an id that is no class
            f = rng.choice(layout.class_refs[rng.choice(sorted(layout.class_refs))])
            old = f.read(base)
            new = rng.choice([rng.choice(layout.class_ids), rng.choice(layout.class_ids),
                              int.from_bytes(data[f.offset - 4 - f.width: f.offset - 4], "big"),
                              0, rng.randrange(1 << (8 * f.width))])
            _put(data, f.offset, f.width, new)
            steps.append(f"{f.kind} at {f.offset}: 0x{old:x} -> 0x{new:x}")
        elif op == "tag":
            sub = bool(layout.subs) and rng.random() < 0.7
            at, tag, _ = rng.choice(layout.subs if sub else layout.records)
            new = rng.choice((KNOWN_TAGS if sub else RECORD_TAGS) + [rng.randrange(256)])
            if new == tag:
                new ^= 0x80
            steps.append(f"{'sub-record' if sub else 'record'} tag at {at}: "
                         f"0x{tag:02x} -> 0x{new:02x}")
            data[at] = new
        elif op == "id size":
            f = layout.fields["id size"][0]
            new = rng.choice(ID_SIZES + [12 - layout.id_size])
            _put(data, f.offset, 4, new)
            steps.append(f"id size: {layout.id_size} -> {new}")
        elif op == "truncate":
            if rng.random() < 0.8 and layout.subs:
                start, tag, end = rng.choice([s for s in layout.subs if s[2] - s[0] > 1]
                                             or layout.subs)
                at = rng.randrange(start + 1, max(start + 2, end))
                where = f"inside sub-record 0x{tag:02x} [{start}, {end})"
            else:
                start = rng.choice(layout.records)[0]
                at = start + rng.randint(1, 8)
                where = f"inside the header of the record at {start}"
            cut = at if cut is None else min(cut, at)
            steps.append(f"cut at {at}, {where}")
        elif op == "name" and layout.class_names:
            start, end = (rng.choice(layout.class_names) if rng.random() < 0.7 else
                          rng.choice([r for r in layout.records[:2000] if r[1] == 0x01]
                                     or layout.records)[::2])
            text = rng.choice(HOSTILE_NAMES)
            moves.append((start, "rename", (start, end, text)))
            steps.append(f"STRING record at {start} renamed {text[:40]!r}")
        elif op in ("duplicate", "drop"):
            start, tag, end = rng.choice(layout.records)
            moves.append((start, op, (start, end)))
            steps.append(f"{op} record 0x{tag:02x} [{start}, {end})")
        else:
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(data))
                patch = rng.randbytes(rng.randint(1, 8))
                data[at: at + len(patch)] = patch
                steps.append(f"patch {patch.hex()} at {at}")
    if cut is not None:
        del data[cut:]
    for _, op, what in sorted(moves, key=lambda m: m[0], reverse=True):
        a, b = what[0], what[1]
        if b > len(data):
            continue
        if op == "duplicate":
            data[b:b] = data[a:b]
        elif op == "drop":
            del data[a:b]
        else:  # rename: the STRING record's text replaced, its length with it
            body = a + 9 + min(layout.id_size if layout.id_size in (4, 8) else 8, b - a - 9)
            data[body:b] = what[2]
            _put(data, a + 5, 4, body - a - 9 + len(what[2]))
    return bytes(data), steps


# -- containers ---------------------------------------------------------------------------------
PACK_MAGIC = b"\x89OOMPACK"
N_STREAMS = 10


def _frames(packed: bytes) -> tuple[list[dict], int]:
    """The frames of a packed file: their offset, sizes and streams' compressed bytes; and the
    offset of the end marker."""
    p, frames = 10, []
    while p < len(packed) and packed[p] != 0:
        count = packed[p]
        if p + 1 + 8 * count > len(packed):
            break
        sizes = [struct.unpack_from(">II", packed, p + 1 + 8 * i) for i in range(count)]
        q = p + 1 + 8 * count
        chunks = []
        for _, z in sizes:
            chunks.append(packed[q: q + z])
            q += z
        frames.append({"offset": p, "sizes": sizes, "chunks": chunks, "end": q})
        p = q
    return frames, p


def _frame_bytes(raw_streams: list[bytes]) -> bytes:
    zc = zstandard.ZstdCompressor(level=1, write_checksum=True)
    chunks = [zc.compress(s) if s else b"" for s in raw_streams]
    return (bytes([len(raw_streams)])
            + b"".join(struct.pack(">II", len(s), len(c)) for s, c in zip(raw_streams, chunks))
            + b"".join(chunks))


def _damage_stream(rng: random.Random, stream: bytes) -> tuple[bytes, str]:
    s = bytearray(stream)
    choice = rng.randrange(5)
    if choice == 0 or not s:
        extra = rng.randbytes(rng.randint(1, 64))
        return bytes(s) + extra, f"appended {len(extra)} random bytes"
    if choice == 1:
        n = rng.randrange(len(s))
        return bytes(s[:n]), f"cut from {len(s)} to {n} bytes"
    if choice == 2:
        at = rng.randrange(len(s))
        return bytes(s[:at] + s[at + 1:]), f"byte {at} removed"
    notes = []
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(s))
        value = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        s[at] = value
        notes.append(f"{at}={value:#x}")
    return bytes(s), "bytes " + ", ".join(notes)


def mutate_packed(packed: bytes, rng: random.Random, max_steps: int = 2
                  ) -> tuple[bytes, list[str]]:
    """A damaged copy of a packed file (pack.py's layout) and what was done to it."""
    data = bytearray(packed)
    steps: list[str] = []
    for _ in range(rng.randint(1, max_steps)):
        frames, end = _frames(bytes(data))
        choice = rng.randrange(10)
        if choice <= 4 and frames:  # the contents of one stream, recompressed with sound sizes
            frame = rng.choice(frames)
            try:
                raws = [zstandard.ZstdDecompressor().decompress(c) if c else b""
                        for c in frame["chunks"]]
            except zstandard.ZstdError:  # an earlier step broke this frame: damage it so
                raws = [rng.randbytes(64) for _ in range(N_STREAMS)]
            k = rng.randrange(N_STREAMS)
            raws[k], how = _damage_stream(rng, raws[k])
            data[frame["offset"]: frame["end"]] = _frame_bytes(raws)
            steps.append(f"packed frame at {frame['offset']}: stream {k} {how}")
        elif choice == 5 and frames:  # a size field of a frame
            frame = rng.choice(frames)
            k = rng.randrange(N_STREAMS)
            at = frame["offset"] + 1 + 8 * k + rng.choice([0, 4])
            old = int.from_bytes(data[at: at + 4], "big")
            new = _value_for(rng, old, 4)
            _put(data, at, 4, new)
            steps.append(f"packed stream size at {at}: {old} -> {new}")
        elif choice == 6:  # header, stream count, end marker
            at, what = rng.choice([(a, w) for a, w in (
                (8, "format version"), (9, "id size"),
                *((f["offset"], "stream count") for f in frames[:3]), (end, "end marker"))
                if a < len(data)] or [(len(data) - 1, "last byte")])
            new = rng.choice([0, 1, 3, 4, 5, 8, 9, 10, 11, 0xFF])
            steps.append(f"packed {what} at {at}: {data[at]} -> {new}")
            data[at] = new
        elif choice == 7:  # the total at the end
            at = end + 1
            new = rng.choice([0, 1, (1 << 64) - 1, rng.randrange(1 << 40)])
            data[at: at + 8] = new.to_bytes(8, "big")
            steps.append(f"packed end total -> {new}")
        elif choice == 8:
            at = rng.randrange(len(data))
            patch = rng.randbytes(rng.randint(1, 8))
            data[at: at + len(patch)] = patch
            steps.append(f"packed bytes: patch {patch.hex()} at {at}")
        else:
            at = rng.randrange(1, len(data))
            del data[at:]
            steps.append(f"packed file cut at {at}")
    return bytes(data), steps


def damage_compressed(blob: bytes, rng: random.Random, what: str) -> tuple[bytes, list[str]]:
    """A gzip or zstd file with some of its own bytes damaged (past the first ones, so that it
    is still told apart by its magic) or cut."""
    data = bytearray(blob)
    if rng.random() < 0.4:
        at = rng.randrange(4, len(data))
        del data[at:]
        return bytes(data), [f"{what} stream cut at {at} of {len(blob)}"]
    steps = []
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(4, len(data))
        data[at] ^= 1 << rng.randrange(8)
        steps.append(f"{what} stream: bit flipped at {at}")
    return bytes(data), steps
