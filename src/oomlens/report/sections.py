"""The order a rendering shows a report's sections in: what answers the problem first.

The OOM cause says which sections that is when there was an error message; a dump the agent took
at a threshold has none, and its capture says instead (threads first for a thread threshold).
Every rendering (terminal, HTML, the dashboard's report page) orders by this one rule.
"""

from __future__ import annotations

# the sections every rendering knows, in their usual order, and their headings
ORDER = ("leaks", "library_leaks", "big_objects", "class_clusters", "bitmaps", "threads",
         "file_descriptors", "top_retained")
TITLES = {"leaks": "Leaks", "library_leaks": "Library leaks", "big_objects": "Big objects",
          "class_clusters": "Class clusters", "bitmaps": "Bitmaps", "threads": "Threads",
          "file_descriptors": "File descriptors", "top_retained": "Top retained",
          "histogram": "Histogram"}


def look_first(report: dict) -> list[str]:
    """The sections to read first: the OOM cause's, else (no message) the capture's."""
    source = report.get("oom_cause") or report.get("capture") or {}
    return list(source.get("look_first") or ())


def has_findings(report: dict, section: str) -> bool:
    """Whether ``section`` of ``report`` has anything in it: a "read first" link to an empty
    section sends the reader to "none found", so the renderings say "none" in the link's place.
    """
    value = report.get(section)
    if section == "bitmaps":
        return bool((value or {}).get("count"))
    if section == "file_descriptors":
        return bool((value or {}).get("open"))
    return bool(value)


def section_order(report: dict, sections=ORDER) -> list[str]:
    """``sections`` with those to read first moved to the front (in look_first's order);
    a rendering passes the sections it has."""
    first = [s for s in look_first(report) if s in sections]
    return first + [s for s in sections if s not in first]
