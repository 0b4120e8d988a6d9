"""Messages about files in a job's temporary folder, as users may read them.

An analysis or a download works on copies in a temporary folder; the errors our readers raise
name the file they read. Those paths are the server's business (and meaningless to whoever
uploaded the dump): messages that are stored or shown say what the file was instead.
"""

from __future__ import annotations

import re
from pathlib import Path


def without_paths(message: str, work: Path, names: dict[Path, str]) -> str:
    """``message`` with each path of ``names`` replaced by its description, and any other path
    under ``work`` by "the dump"."""
    for path, name in names.items():
        message = message.replace(str(path), name)
    return re.sub(re.escape(str(work)) + r"[^\s:,]*", "the dump", message)
