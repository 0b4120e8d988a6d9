"""Reading values out of the mapped dump: fields, array elements, primitive arrays."""

from __future__ import annotations

import struct

import numpy as np

from oomlens.hprof import constants as C

_STRUCT_CODES = {C.TYPE_BOOLEAN: "?", C.TYPE_CHAR: "H", C.TYPE_FLOAT: "f", C.TYPE_DOUBLE: "d",
                 C.TYPE_BYTE: "b", C.TYPE_SHORT: "h", C.TYPE_INT: "i", C.TYPE_LONG: "q"}
_NUMPY_TYPES = {C.TYPE_BOOLEAN: ">u1", C.TYPE_CHAR: ">u2", C.TYPE_FLOAT: ">f4",
                C.TYPE_DOUBLE: ">f8", C.TYPE_BYTE: ">i1", C.TYPE_SHORT: ">i2", C.TYPE_INT: ">i4",
                C.TYPE_LONG: ">i8"}


def read_id(data: np.ndarray, offset: int, id_size: int) -> int:
    raw = bytes(data[offset : offset + id_size])
    return int.from_bytes(raw, "big", signed=(id_size == 8))


def read_primitive(data: np.ndarray, offset: int, type_code: int):
    """A Python value for a primitive of ``type_code`` at ``offset``; chars come back as str."""
    size = C.PRIMITIVE_SIZES[type_code]
    value = struct.unpack(">" + _STRUCT_CODES[type_code], bytes(data[offset : offset + size]))[0]
    if type_code == C.TYPE_CHAR:
        return chr(value)
    return value


def primitive_array(data: np.ndarray, offset: int, type_code: int, length: int) -> np.ndarray:
    """The elements of a primitive array as a big-endian NumPy view of the file."""
    dtype = np.dtype(_NUMPY_TYPES[type_code])
    return np.frombuffer(data, dtype=dtype, count=length, offset=offset)
