"""What a rendering leaves out, said where it leaves it out.

A section that shows part of a list reads as the whole list unless it says otherwise: the
terminal, the HTML report and the dashboard all use these words for the two kinds of cut,
a list the document itself holds only the top of (``big_objects``, ``class_clusters``), and a
sample of names inside one row (thread names, descriptor numbers, bitmap objects).
"""

from __future__ import annotations

from collections.abc import Sequence

# key of a list cut by the document -> (the setting that limits it, its limit in reports
# written before the setting was recorded)
DOCUMENT_LIMITS = {"big_objects": ("max_big_objects", 50),
                   "class_clusters": ("max_class_clusters", 20)}


def document_cut(report: dict, key: str) -> str | None:
    """``The 50 biggest of 63 are listed: ...`` when the document lists fewer of ``key`` than
    it found, else None."""
    found, listed = report["summary"][key], len(report[key])
    if found <= listed:
        return None
    setting, default = DOCUMENT_LIMITS[key]
    limit = report["settings"].get(setting, default)
    return (f"The {listed} biggest of {found:,} are listed: set {setting} (now {limit}) in a "
            "config file to list more.")


def sample_text(items: Sequence, total: int | None = None, limit: int | None = None) -> str:
    """``a, b, c`` from a sample of ``total`` things (default: the items), at most ``limit``
    of them shown, ending ``and 7 more`` when some are not: never a bare ``...``."""
    shown = [str(item) for item in (items[:limit] if limit is not None else items)]
    total = len(items) if total is None else max(total, len(items))
    if not shown:
        return "-"
    rest = total - len(shown)
    return ", ".join(shown) + (f" and {rest:,} more" if rest > 0 else "")
