"""Decoding java.lang.String objects, whichever runtime wrote them.

- HotSpot up to JDK 8, Dalvik: ``value`` is a char[] (UTF-16), with ``offset``/``count`` on old
  JDKs and Dalvik (a substring shares its parent's array).
- HotSpot JDK 9+: ``value`` is a byte[] and ``coder`` says Latin-1 (0) or UTF-16 (1).
- ART: the characters are written as a ``value`` array too: byte[] for compressed (Latin-1)
  strings, char[] otherwise; ``count`` carries a compression flag in its low bit, so it is used
  only when it fits the array.

A dump made by ``oomlens strip`` (or an Android dump that left array contents out) has the
``value`` array as PRIMITIVE_ARRAY_NODATA: length and type, no characters. Such a String is
*redacted*: ``decode_string`` returns None for it (its text is unknown, not empty), and
``is_redacted`` says why, so that output can show ``REDACTED`` instead of nothing.
"""

from __future__ import annotations

import numpy as np

LATIN1 = 0
UTF16 = 1
REDACTED = "<redacted>"


def _utf16(values: np.ndarray) -> str:
    return values.astype(">u2").tobytes().decode("utf-16-be", errors="replace")


def _chars_of_array(array, coder: int | None) -> str | None:
    elem = array.element_type
    if elem in ("char", "byte") and not array.has_array_data():
        return None  # the characters were left out of the dump (stripped)
    values = array.primitive_values()
    if elem == "char":
        return _utf16(values)
    if elem == "byte":
        raw = values.astype(np.int8).tobytes()
        if coder == UTF16:
            # JDK 9+ stores UTF-16 in the platform's byte order; HotSpot dumps come from
            # little-endian machines almost always, big-endian ones are rare.
            return raw.decode("utf-16-le", errors="replace")
        return raw.decode("latin-1")
    return None


def decode_string(obj) -> str | None:
    """Text of a String (or of a char[] / byte[] directly); None if ``obj`` is neither."""
    if obj.element_type in ("char", "byte"):
        return _chars_of_array(obj, None)
    if obj.is_array or obj.is_class:
        return None
    names = {c.name for c in obj.klass.superclass_chain()}
    if "java.lang.String" not in names:
        return None
    fields = dict(obj.fields())
    value = fields.get("value")
    if value is None or not hasattr(value, "element_type"):
        count = fields.get("count")
        return "" if count in (0, None) else None
    coder = fields.get("coder")
    text = _chars_of_array(value, coder if isinstance(coder, int) else None)
    if text is None:
        return None
    offset = fields.get("offset", 0)
    count = fields.get("count")
    if isinstance(offset, int) and isinstance(count, int) and offset >= 0 and \
            0 <= count <= len(text) - offset:
        text = text[offset : offset + count]
    return text


def _is_string(obj) -> bool:
    return not (obj.is_array or obj.is_class) and "java.lang.String" in {
        c.name for c in obj.klass.superclass_chain()}


def is_redacted(obj) -> bool:
    """True for a String, char[] or byte[] whose characters are not in the dump."""
    if obj.element_type in ("char", "byte"):
        return not obj.has_array_data()
    if obj.is_array or obj.is_class or not _is_string(obj):
        return False
    value = obj.get("value")
    return hasattr(value, "element_type") and value.element_type in ("char", "byte") and \
        not value.has_array_data()


def text_or_redacted(value) -> str | None:
    """What to show for a field value that should be text: the String's text, ``REDACTED``
    when its characters were stripped, None when it is null or no String."""
    if not hasattr(value, "as_string"):
        return None
    text = value.as_string()
    if text is None and is_redacted(value):
        return REDACTED
    return text
