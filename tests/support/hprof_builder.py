"""Write small HPROF files byte by byte, for tests that need exact or deliberately broken input."""

from __future__ import annotations

import struct

from oomlens.hprof import constants as C


class HprofBuilder:
    def __init__(self, id_size: int = 8, version: str = "1.0.2"):
        self.id_size = id_size
        self.version = version
        self.records: list[bytes] = []
        self._string_ids: dict[str, int] = {}
        self._next_string = 0x10_0000

    # -- encoding ----------------------------------------------------------------------------
    def id(self, value: int) -> bytes:
        return value.to_bytes(self.id_size, "big")

    def header(self) -> bytes:
        return f"JAVA PROFILE {self.version}".encode() + b"\0" + struct.pack(
            ">III", self.id_size, 0, 0)

    def record(self, tag: int, body: bytes, length: int | None = None) -> HprofBuilder:
        self.records.append(struct.pack(">BII", tag, 0, len(body) if length is None else length)
                            + body)
        return self

    def string(self, text: str) -> int:
        if text not in self._string_ids:
            sid = self._next_string
            self._next_string += 1
            self._string_ids[text] = sid
            self.record(C.TAG_STRING, self.id(sid) + text.encode())
        return self._string_ids[text]

    def load_class(self, class_id: int, name: str, serial: int = 1) -> HprofBuilder:
        name_id = self.string(name)
        return self.record(C.TAG_LOAD_CLASS, struct.pack(">I", serial) + self.id(class_id)
                           + struct.pack(">I", 0) + self.id(name_id))

    # -- heap dump sub-records ---------------------------------------------------------------
    def class_dump(self, class_id: int, super_id: int = 0, instance_size: int = 0,
                   fields: list[tuple[str, int]] = (), statics: list[tuple[str, int, bytes]] = (),
                   loader_id: int = 0) -> bytes:
        out = bytes([C.SUB_CLASS_DUMP]) + self.id(class_id) + struct.pack(">I", 0)
        out += self.id(super_id) + self.id(loader_id) + self.id(0) * 4
        out += struct.pack(">I", instance_size) + struct.pack(">H", 0)
        out += struct.pack(">H", len(statics))
        for name, type_code, value in statics:
            out += self.id(self.string(name)) + bytes([type_code]) + value
        out += struct.pack(">H", len(fields))
        for name, type_code in fields:
            out += self.id(self.string(name)) + bytes([type_code])
        return out

    def instance(self, object_id: int, class_id: int, data: bytes) -> bytes:
        return (bytes([C.SUB_INSTANCE_DUMP]) + self.id(object_id) + struct.pack(">I", 0)
                + self.id(class_id) + struct.pack(">I", len(data)) + data)

    def object_array(self, object_id: int, class_id: int, elements: list[int]) -> bytes:
        return (bytes([C.SUB_OBJECT_ARRAY_DUMP]) + self.id(object_id) + struct.pack(">I", 0)
                + struct.pack(">I", len(elements)) + self.id(class_id)
                + b"".join(self.id(e) for e in elements))

    def primitive_array(self, object_id: int, type_code: int, payload: bytes,
                        length: int | None = None) -> bytes:
        n = len(payload) // C.PRIMITIVE_SIZES[type_code] if length is None else length
        return (bytes([C.SUB_PRIMITIVE_ARRAY_DUMP]) + self.id(object_id) + struct.pack(">I", 0)
                + struct.pack(">I", n) + bytes([type_code]) + payload)

    def root(self, kind: int, object_id: int) -> bytes:
        extra = {C.ROOT_JNI_GLOBAL: self.id(0), C.ROOT_JNI_LOCAL: b"\0" * 8,
                 C.ROOT_JAVA_FRAME: b"\0" * 8, C.ROOT_NATIVE_STACK: b"\0" * 4,
                 C.ROOT_THREAD_BLOCK: b"\0" * 4, C.ROOT_THREAD_OBJECT: b"\0" * 8,
                 C.ROOT_JNI_MONITOR: b"\0" * 8}.get(kind, b"")
        return bytes([kind]) + self.id(object_id) + extra

    def heap_dump(self, *subrecords: bytes, tag: int = C.TAG_HEAP_DUMP_SEGMENT
                  ) -> HprofBuilder:
        return self.record(tag, b"".join(subrecords))

    def heap_dump_end(self) -> HprofBuilder:
        return self.record(C.TAG_HEAP_DUMP_END, b"")

    def bytes(self) -> bytes:
        return self.header() + b"".join(self.records)


def minimal_heap(builder: HprofBuilder, value: int = 7) -> list[bytes]:
    """Sub-records of a tiny valid heap: java.lang.Object, java.lang.Class, one class Box with
    an int field and a reference field, two Box instances (one pointing at the other) and a
    sticky-class root on Box."""
    b = builder
    obj, cls, box = 0x100, 0x200, 0x300
    b.load_class(obj, "java/lang/Object")
    b.load_class(cls, "java/lang/Class")
    b.load_class(box, "Box")
    data1 = struct.pack(">i", value) + b.id(0x1010)
    data2 = struct.pack(">i", value + 1) + b.id(0)
    return [
        b.class_dump(obj),
        b.class_dump(cls, obj),
        b.class_dump(box, obj, fields=[("value", C.TYPE_INT), ("next", C.TYPE_OBJECT)],
                     statics=[("first", C.TYPE_OBJECT, b.id(0x1000))]),
        b.instance(0x1000, box, data1),
        b.instance(0x1010, box, data2),
        b.root(C.ROOT_STICKY_CLASS, box),
    ]
