"""Errors a user can cause with their input.

Everything the engine raises because of a bad file, a bad option or a bad object id is an
``OomlensError``: the command line prints its message as one line and exits with status 2.
Anything else escaping is a bug in oomlens, not in the user's input.
"""


class OomlensError(Exception):
    """A problem with the user's input, worth one clear line on stderr."""


class HprofFormatError(OomlensError):
    """The file is not an HPROF heap dump, or is damaged beyond what can be indexed."""


class ObjectNotFoundError(OomlensError):
    """An object id the user asked for is not in the heap dump."""


# Line breaks and the other control characters (but tab), as the escapes Python writes them.
_ESCAPES = {c: repr(chr(c))[1:-1] for c in (*range(0x20), 0x7F, 0x85, 0x2028, 0x2029)
            if c != 0x09}


def one_line(text: str) -> str:
    """``text`` with line breaks and control characters escaped (``\\n``, ``\\x1b``): a
    message that names something from a dump (a class name may hold anything) stays one line,
    and cannot steer the terminal it is printed on."""
    return str(text).translate(_ESCAPES)
