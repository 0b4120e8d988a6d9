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
