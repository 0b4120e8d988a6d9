"""HPROF record tags, heap sub-record tags, basic types and GC root kinds.

The binary format is the one HotSpot's heap dumper and hprof agent write (headers
``JAVA PROFILE 1.0.1`` to ``1.0.3``), plus the sub-records Android's Dalvik and ART add.
"""

HEADER_PREFIX = b"JAVA PROFILE 1.0."
KNOWN_VERSIONS = ("1.0.1", "1.0.2", "1.0.3")

# Top-level records: u1 tag, u4 microseconds since the header's timestamp, u4 body length.
RECORD_HEADER_SIZE = 9
TAG_STRING = 0x01
TAG_LOAD_CLASS = 0x02
TAG_UNLOAD_CLASS = 0x03
TAG_STACK_FRAME = 0x04
TAG_STACK_TRACE = 0x05
TAG_ALLOC_SITES = 0x06
TAG_HEAP_SUMMARY = 0x07
TAG_START_THREAD = 0x0A
TAG_END_THREAD = 0x0B
TAG_HEAP_DUMP = 0x0C
TAG_CPU_SAMPLES = 0x0D
TAG_CONTROL_SETTINGS = 0x0E
TAG_HEAP_DUMP_SEGMENT = 0x1C
TAG_HEAP_DUMP_END = 0x2C

RECORD_NAMES = {
    TAG_STRING: "STRING",
    TAG_LOAD_CLASS: "LOAD_CLASS",
    TAG_UNLOAD_CLASS: "UNLOAD_CLASS",
    TAG_STACK_FRAME: "STACK_FRAME",
    TAG_STACK_TRACE: "STACK_TRACE",
    TAG_ALLOC_SITES: "ALLOC_SITES",
    TAG_HEAP_SUMMARY: "HEAP_SUMMARY",
    TAG_START_THREAD: "START_THREAD",
    TAG_END_THREAD: "END_THREAD",
    TAG_HEAP_DUMP: "HEAP_DUMP",
    TAG_CPU_SAMPLES: "CPU_SAMPLES",
    TAG_CONTROL_SETTINGS: "CONTROL_SETTINGS",
    TAG_HEAP_DUMP_SEGMENT: "HEAP_DUMP_SEGMENT",
    TAG_HEAP_DUMP_END: "HEAP_DUMP_END",
}

# Heap dump sub-records.
SUB_CLASS_DUMP = 0x20
SUB_INSTANCE_DUMP = 0x21
SUB_OBJECT_ARRAY_DUMP = 0x22
SUB_PRIMITIVE_ARRAY_DUMP = 0x23
SUB_PRIMITIVE_ARRAY_NODATA = 0xC3  # Android: a primitive array whose elements were left out
SUB_HEAP_DUMP_INFO = 0xFE  # Android: the following objects belong to heap (app, image, zygote)

# GC roots: tag -> (name, bytes that follow the object id: u4 fields, or one more id for JNI global).
ROOT_UNKNOWN = 0xFF
ROOT_JNI_GLOBAL = 0x01
ROOT_JNI_LOCAL = 0x02
ROOT_JAVA_FRAME = 0x03
ROOT_NATIVE_STACK = 0x04
ROOT_STICKY_CLASS = 0x05
ROOT_THREAD_BLOCK = 0x06
ROOT_MONITOR_USED = 0x07
ROOT_THREAD_OBJECT = 0x08
ROOT_INTERNED_STRING = 0x89
ROOT_FINALIZING = 0x8A
ROOT_DEBUGGER = 0x8B
ROOT_REFERENCE_CLEANUP = 0x8C
ROOT_VM_INTERNAL = 0x8D
ROOT_JNI_MONITOR = 0x8E
ROOT_UNREACHABLE = 0x90  # ART: marks an object that is *not* reachable; never a root

ROOT_NAMES = {
    ROOT_UNKNOWN: "unknown",
    ROOT_JNI_GLOBAL: "jni-global",
    ROOT_JNI_LOCAL: "jni-local",
    ROOT_JAVA_FRAME: "java-frame",
    ROOT_NATIVE_STACK: "native-stack",
    ROOT_STICKY_CLASS: "sticky-class",
    ROOT_THREAD_BLOCK: "thread-block",
    ROOT_MONITOR_USED: "monitor-used",
    ROOT_THREAD_OBJECT: "thread-object",
    ROOT_INTERNED_STRING: "interned-string",
    ROOT_FINALIZING: "finalizing",
    ROOT_DEBUGGER: "debugger",
    ROOT_REFERENCE_CLEANUP: "reference-cleanup",
    ROOT_VM_INTERNAL: "vm-internal",
    ROOT_JNI_MONITOR: "jni-monitor",
    ROOT_UNREACHABLE: "unreachable",
}

# Basic types of fields and array elements, and their sizes in the file (OBJECT is the id size).
TYPE_OBJECT = 2
TYPE_BOOLEAN = 4
TYPE_CHAR = 5
TYPE_FLOAT = 6
TYPE_DOUBLE = 7
TYPE_BYTE = 8
TYPE_SHORT = 9
TYPE_INT = 10
TYPE_LONG = 11

PRIMITIVE_SIZES = {
    TYPE_BOOLEAN: 1,
    TYPE_CHAR: 2,
    TYPE_FLOAT: 4,
    TYPE_DOUBLE: 8,
    TYPE_BYTE: 1,
    TYPE_SHORT: 2,
    TYPE_INT: 4,
    TYPE_LONG: 8,
}

TYPE_NAMES = {
    TYPE_OBJECT: "object",
    TYPE_BOOLEAN: "boolean",
    TYPE_CHAR: "char",
    TYPE_FLOAT: "float",
    TYPE_DOUBLE: "double",
    TYPE_BYTE: "byte",
    TYPE_SHORT: "short",
    TYPE_INT: "int",
    TYPE_LONG: "long",
}


def value_size(type_code: int, id_size: int) -> int:
    """Bytes a value of this basic type takes in the file."""
    if type_code == TYPE_OBJECT:
        return id_size
    return PRIMITIVE_SIZES[type_code]
