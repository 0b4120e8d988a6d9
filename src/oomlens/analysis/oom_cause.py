"""What kind of OutOfMemoryError it was, read from the error message.

An OutOfMemoryError is not always a full Java heap: ART and HotSpot throw it when the heap is
fragmented, when no thread can be created, when file descriptors run out, when the address space
is exhausted, and for several native pools. The message says which, and carries numbers (the
failed allocation, free bytes, limits). The rules are data: an ordered table of patterns, the first
match wins (more specific messages first: a fragmentation message also starts like a full-heap one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEAP_EXHAUSTED = "heap-exhausted"
HEAP_FRAGMENTATION = "heap-fragmentation"
FILE_DESCRIPTORS = "file-descriptors"
THREAD_LIMIT = "thread-limit"
VIRTUAL_MEMORY = "virtual-memory"
METASPACE = "metaspace"
DIRECT_MEMORY = "direct-memory"
ARRAY_SIZE_LIMIT = "array-size-limit"
UNKNOWN = "unknown"

# A 32-bit process has 4 GiB of address space; past this, mappings start to fail.
ADDRESS_SPACE_32BIT_NEAR_LIMIT = int(3.5 * (1 << 30))

_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "K": 1 << 10, "MB": 1 << 20, "M": 1 << 20,
          "GB": 1 << 30, "G": 1 << 30}
_SIZE = r"(\d+(?:\.\d+)?)\s*([KMG]?B?)"


def parse_size(number: str, unit: str = "") -> int:
    """'16', 'KB' -> 16384; ART prints sizes like 512B, 16KB, 2MB."""
    return int(float(number) * _UNITS[unit.upper()])


# name -> pattern whose groups are (number, unit) or (number,); all sizes come out in bytes
_NUMBERS: dict[str, re.Pattern] = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in {
    "allocation_bytes": r"failed to allocate an? (\d+) byte allocation",
    "free_bytes": r"with (\d+) free bytes",
    "until_oom_bytes": r"and " + _SIZE + r" until OOM",
    "target_footprint_bytes": r"target footprint (\d+)",
    "max_allowed_footprint_bytes": r"max allowed footprint (\d+)",
    "growth_limit_bytes": r"growth limit (\d+)",
    "largest_contiguous_free_bytes": r"(?:largest contiguous free|largest possible contiguous "
                                     r"allocation) (\d+) bytes",
    "required_contiguous_free_bytes": r"required contiguous free (\d+) bytes",
    "thread_stack_bytes": r"pthread_create \(" + _SIZE + r" stack\)",
    "mmap_length_bytes": r"mmap\(0x[0-9a-f]+, (\d+),",
    "requested_bytes": r"(?:cannot reserve|requested) (\d+) bytes",
    "allocated_bytes": r"allocated: (\d+)",
    "limit_bytes": r"limit: (\d+)",
    "vm_size_bytes": r"VmSize:\s*" + _SIZE,
}.items()}


def extract_numbers(message: str) -> dict[str, int]:
    numbers = {}
    for name, pattern in _NUMBERS.items():
        m = pattern.search(message)
        if m:
            groups = [g for g in m.groups() if g is not None]
            value = parse_size(*groups)
            if name == "vm_size_bytes" and (len(groups) < 2 or groups[1].upper() in ("", "B")):
                value *= 1024  # /proc/self/status prints VmSize in kB
            numbers[name] = value
    return numbers


@dataclass(frozen=True)
class Rule:
    kind: str
    runtime: str  # the VM that writes this message, "" when both do
    patterns: tuple[str, ...]  # any of them matches (case-insensitive)
    unless: tuple[str, ...] = ()  # ... unless one of these matches too
    summary: str = ""


RULES: tuple[Rule, ...] = (
    Rule(HEAP_FRAGMENTATION, "ART", (r"failed due to fragmentation",),
         summary="The heap had enough free memory in total, but no free block was big enough "
                 "for the allocation: fragmentation."),
    Rule(VIRTUAL_MEMORY, "ART", (r"failed anonymous mmap", r"couldn't allocate .* mapped space",
                                 r"mmap failed", r"failed to mmap"),
         summary="A memory mapping failed: the process ran out of virtual address space (typical "
                 "of 32-bit processes) or of memory the kernel would map."),
    Rule(FILE_DESCRIPTORS, "", (r"too many open files", r"\bEMFILE\b", r"ashmem",
                                r"could not allocate jni env"),
         summary="The process ran out of file descriptors (the per-process limit, often 1024 or "
                 "32768 on Android); every thread, socket, stream and cursor holds some."),
    Rule(THREAD_LIMIT, "", (r"pthread_create .*failed", r"unable to create (?:new )?native thread"),
         summary="No new thread could be created: too many threads, or no memory for another "
                 "thread stack."),
    Rule(HEAP_EXHAUSTED, "ART", (r"failed to allocate an? \d+ byte allocation",),
         summary="The Java heap was full: the allocation did not fit below the heap's growth "
                 "limit even after garbage collection."),
    Rule(HEAP_EXHAUSTED, "HotSpot", (r"\bjava heap space\b",),
         summary="The Java heap was full (-Xmx reached) even after garbage collection."),
    Rule(HEAP_EXHAUSTED, "HotSpot", (r"gc overhead limit exceeded",),
         summary="The Java heap was nearly full: the JVM spent almost all its time collecting "
                 "garbage while reclaiming almost nothing."),
    Rule(METASPACE, "HotSpot", (r"\bmetaspace\b", r"compressed class space", r"permgen space"),
         summary="Class metadata space was full: too many classes loaded, often class loaders "
                 "that leak."),
    Rule(DIRECT_MEMORY, "HotSpot", (r"direct buffer memory",),
         summary="Native memory for direct ByteBuffers reached its limit "
                 "(-XX:MaxDirectMemorySize)."),
    Rule(ARRAY_SIZE_LIMIT, "HotSpot", (r"requested array size exceeds vm limit",),
         summary="An array larger than the VM can ever allocate was requested (a size bug, not a "
                 "full heap)."),
)


@dataclass(frozen=True)
class OomCause:
    kind: str
    runtime: str
    summary: str
    message: str
    numbers: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"kind": self.kind, "runtime": self.runtime or None, "summary": self.summary,
                "message": self.message, "numbers": dict(self.numbers)}


def _matches(patterns: tuple[str, ...], message: str) -> bool:
    return any(re.search(p, message, re.IGNORECASE) for p in patterns)


def classify_oom_message(message: str | None) -> OomCause:
    """Classify an OutOfMemoryError message (the text after ``OutOfMemoryError:``, or the whole
    line, or a log excerpt that contains it)."""
    text = (message or "").strip()
    numbers = extract_numbers(text)
    for rule in RULES:
        if _matches(rule.patterns, text) and not _matches(rule.unless, text):
            return OomCause(rule.kind, rule.runtime, rule.summary, text, numbers)
    if numbers.get("vm_size_bytes", 0) >= ADDRESS_SPACE_32BIT_NEAR_LIMIT:
        return OomCause(VIRTUAL_MEMORY, "", "The process's virtual size was near the 4 GiB a "
                        "32-bit process can address.", text, numbers)
    summary = ("No OutOfMemoryError message was given." if not text else
               "This OutOfMemoryError message is not one oomlens knows; the heap dump is still "
               "analysed as if the Java heap were full.")
    return OomCause(UNKNOWN, "", summary, text, numbers)
