"""OutOfMemoryError messages as ART and HotSpot print them, classified, with their numbers."""

from __future__ import annotations

import pytest

from oomlens.analysis import oom_cause as oc


@pytest.mark.parametrize("message,kind,runtime,numbers", [
    # ART, Android 10+
    ("Failed to allocate a 28 byte allocation with 0 free bytes and 0B until OOM, target "
     "footprint 536870912, growth limit 536870912", oc.HEAP_EXHAUSTED, "ART",
     {"allocation_bytes": 28, "free_bytes": 0, "until_oom_bytes": 0,
      "target_footprint_bytes": 536870912, "growth_limit_bytes": 536870912}),
    # ART, Android 7-9
    ("java.lang.OutOfMemoryError: Failed to allocate a 4099 byte allocation with 1024 free bytes "
     "and 16KB until OOM, max allowed footprint 134217728, growth limit 134217728",
     oc.HEAP_EXHAUSTED, "ART",
     {"allocation_bytes": 4099, "free_bytes": 1024, "until_oom_bytes": 16 * 1024,
      "max_allowed_footprint_bytes": 134217728, "growth_limit_bytes": 134217728}),
    # ART fragmentation: the same prefix, then the reason
    ("Failed to allocate a 20 byte allocation with 37792 free bytes and 36KB until OOM; failed "
     "due to fragmentation (required contiguous free 4096 bytes for a new buffer where largest "
     "contiguous free 0 bytes)", oc.HEAP_FRAGMENTATION, "ART",
     {"allocation_bytes": 20, "free_bytes": 37792, "until_oom_bytes": 36 * 1024,
      "required_contiguous_free_bytes": 4096, "largest_contiguous_free_bytes": 0}),
    ("Failed to allocate a 8388620 byte allocation with 5242880 free bytes and 170MB until OOM, "
     "target footprint 268435456, growth limit 536870912; failed due to fragmentation (largest "
     "possible contiguous allocation 4194304 bytes)", oc.HEAP_FRAGMENTATION, "ART",
     {"allocation_bytes": 8388620, "until_oom_bytes": 170 << 20,
      "largest_contiguous_free_bytes": 4194304}),
    # threads
    ("pthread_create (1040KB stack) failed: Try again", oc.THREAD_LIMIT, "",
     {"thread_stack_bytes": 1040 * 1024}),
    ("pthread_create (1040KB stack) failed: Out of memory", oc.THREAD_LIMIT, "",
     {"thread_stack_bytes": 1040 * 1024}),
    ("unable to create new native thread", oc.THREAD_LIMIT, "", {}),
    ("unable to create native thread: possibly out of memory or process/resource limits reached",
     oc.THREAD_LIMIT, "", {}),
    # file descriptors
    ("Could not allocate JNI Env", oc.FILE_DESCRIPTORS, "", {}),
    ("ashmem_create_region failed for 'indirect ref table': Too many open files",
     oc.FILE_DESCRIPTORS, "", {}),
    ("open failed: EMFILE (Too many open files)", oc.FILE_DESCRIPTORS, "", {}),
    # address space
    ("Could not allocate JNI Env: Failed anonymous mmap(0x0, 8192, 0x3, 0x22, -1, 0): Out of "
     "memory. See process maps in the log.", oc.VIRTUAL_MEMORY, "ART",
     {"mmap_length_bytes": 8192}),
    # HotSpot
    ("Java heap space", oc.HEAP_EXHAUSTED, "HotSpot", {}),
    ("GC overhead limit exceeded", oc.HEAP_EXHAUSTED, "HotSpot", {}),
    ("Metaspace", oc.METASPACE, "HotSpot", {}),
    ("Compressed class space", oc.METASPACE, "HotSpot", {}),
    ("PermGen space", oc.METASPACE, "HotSpot", {}),
    ("Direct buffer memory", oc.DIRECT_MEMORY, "HotSpot", {}),
    ("Cannot reserve 1048576 bytes of direct buffer memory (allocated: 10485760, limit: "
     "10485760)", oc.DIRECT_MEMORY, "HotSpot",
     {"requested_bytes": 1048576, "allocated_bytes": 10485760, "limit_bytes": 10485760}),
    ("Requested array size exceeds VM limit", oc.ARRAY_SIZE_LIMIT, "HotSpot", {}),
])
def test_known_messages(message, kind, runtime, numbers):
    cause = oc.classify_oom_message(message)
    assert cause.kind == kind
    assert cause.runtime == runtime
    for name, value in numbers.items():
        assert cause.numbers[name] == value, name
    assert cause.summary and cause.message == message.strip()


def test_vm_size_near_the_32bit_limit():
    cause = oc.classify_oom_message("OutOfMemoryError thrown while trying to throw an exception"
                                    "; VmSize:  3971234 kB")
    assert cause.kind == oc.VIRTUAL_MEMORY
    assert cause.numbers["vm_size_bytes"] == 3971234 * 1024
    small = oc.classify_oom_message("thrown while trying to throw; VmSize: 1048576 kB")
    assert small.kind == oc.UNKNOWN


def test_unknown_and_missing_messages_say_so():
    unknown = oc.classify_oom_message("something nobody has seen")
    assert unknown.kind == oc.UNKNOWN and "not one oomlens knows" in unknown.summary
    assert oc.classify_oom_message(None).kind == oc.UNKNOWN
    assert "No OutOfMemoryError message" in oc.classify_oom_message("  ").summary


def test_json_form():
    doc = oc.classify_oom_message("pthread_create (1040KB stack) failed: Try again").to_json()
    assert doc == {"kind": "thread-limit", "runtime": None,
                   "summary": doc["summary"], "message": "pthread_create (1040KB stack) failed: "
                   "Try again", "numbers": {"thread_stack_bytes": 1064960}}
