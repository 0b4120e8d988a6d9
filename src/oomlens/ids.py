"""Object ids as every output shows them, and as users type them.

Ids are the dump's own (addresses, usually), written as 0x-prefixed lowercase hex. Inside the
engine they are signed 64-bit patterns; these helpers convert both ways. No heavy imports here:
the command line uses them before any dump is opened.
"""

from oomlens.errors import OomlensError

ID_MASK = (1 << 64) - 1


def format_id(object_id: int) -> str:
    """Object ids as every output shows them: the dump's own id, 0x-prefixed lowercase hex."""
    return f"0x{int(object_id) & ID_MASK:x}"


def parse_id(text: str) -> int:
    """Read an id as outputs show it: hex, with or without ``0x`` (``0x7f3a01c8``, ``7f3a01c8``)."""
    try:
        value = int(text.strip(), 16)
    except ValueError:
        raise OomlensError(f"not an object id: {text!r} (expected hex such as 0x7f3a01c8)") from None
    if value < 0 or value > ID_MASK:
        raise OomlensError(f"not an object id: {text!r} (out of range)")
    return value - (1 << 64) if value >= 1 << 63 else value
