"""App versions as issues compare them: by their numbers, so 1.10 comes after 1.9.

Folding re-opens a fixed issue only for a report of a version later than the one with the fix
(``is_later``); lists, charts and filters show versions in that order (``version_key``).
"""

from __future__ import annotations

import re


def version_key(version: str) -> tuple:
    """Dotted versions compare by their numbers (1.10 > 1.9); other text after them."""
    return tuple(int(n) for n in re.findall(r"\d+", version)), version


def is_later(version: str, than: str) -> bool:
    return bool(version) and (not than or version_key(version) > version_key(than))
