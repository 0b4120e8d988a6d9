"""How the renderings explain a value whose text is not in the dump.

The analysis writes ``<redacted>`` (``oomlens.heap.strings.REDACTED``) where a String it would
show had its characters removed: a thread's name after ``--no-keep-thread-names`` or at levels
``arrays`` and ``all``, a LeakCanary watch key or description after any strip. Bare, it reads
as a fault of the tool; each rendering says once per section where the text went, since the
person reading a dashboard is rarely the one whose client stripped the dump.
"""

from __future__ import annotations

from collections.abc import Iterable

from oomlens.heap.strings import REDACTED

EXPLANATION = ("<redacted>: the text was removed from the dump by oomlens strip (upload and "
               "watch run strip --level strings on the client by default{why})")
# why what is removed was removed, by the kind of text
WHY = {"threads": "; threads' names are kept unless --no-keep-thread-names or --level arrays "
                  "or all",
       "watch": "; LeakCanary's watch keys and descriptions are removed at every level: the "
                "app's code may put anything into them, and the leak's class and reason say "
                "what they would"}


def redaction_note(values: Iterable[str], kind: str) -> str | None:
    """The explanation when any of ``values`` (texts of ``kind``, a key of WHY) is redacted,
    else None."""
    return EXPLANATION.format(why=WHY[kind]) if any(v == REDACTED for v in values) else None


def thread_values(report: dict) -> list[str]:
    """The texts the threads section shows: patterns and sampled names."""
    return [text for g in report["threads"] for text in (g["pattern"], *g["names"])]


def watch_values(groups: list[dict]) -> list[str]:
    """The LeakCanary texts of leak groups: watch keys and descriptions."""
    return [text for g in groups
            for text in (*g.get("watch_keys", ()), *g.get("watch_descriptions", ()))]
