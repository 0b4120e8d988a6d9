"""The report's ``capture`` section as labelled facts, for people.

The terminal report, the HTML report and the dashboard's report page all list what the agent
measured when it took the dump; they take the lines from here, so the three say the same in the
same words (and the dashboard's tests can compare one with another). Only what the agent knew is
listed. The values are plain text: each rendering escapes them, as everything from a dump.
"""

from __future__ import annotations

from oomlens.units import human_bytes, plural


def capture_facts(capture: dict) -> list[tuple[str, str, str]]:
    """``(key, label, text)`` for each fact of the section the agent knew, in reading order;
    ``key`` names it for markup (``data-fact``)."""
    facts = [("heap", "Heap", _heap(capture)),
             ("threads", "Threads", _of_limit(capture["threads"], capture["thread_limit"])),
             ("open_fds", "Open files", _of_limit(capture["open_fds"], capture["fd_limit"])),
             ("threshold", "Threshold", _threshold(capture["threshold"])),
             ("reason", "Agent's reason",
              capture["reason"] if capture["reason"] != capture["summary"] else None),
             ("process", "Process", _process(capture)),
             ("host", "Host", capture["host"]),
             ("jvm", "JVM", _jvm(capture["jvm"])),
             ("captured_at", "Captured", capture["captured_at"]),
             ("oom_thread", "OOM thread", capture["oom_thread"]),
             ("agent", "Agent", capture["agent"]),
             ("capture_id", "Capture id", capture["capture_id"])]
    return [(key, label, text) for key, label, text in facts if text]


def _heap(c: dict) -> str:
    parts = [f"{human_bytes(c['heap_used_bytes'])} used" if c["heap_used_bytes"] is not None
             else "",
             f"{human_bytes(c['heap_after_gc_bytes'])} after GC"
             if c["heap_after_gc_bytes"] is not None else "",
             f"max {human_bytes(c['heap_max_bytes'])}" if c["heap_max_bytes"] is not None
             else ""]
    return ", ".join(p for p in parts if p)


def _of_limit(count: int | None, limit: int | None) -> str:
    if count is None:
        return f"limit {limit:,}" if limit is not None else ""
    return f"{count:,}" + (f" of a limit of {limit:,}" if limit is not None else "")


def _threshold(t: dict | None) -> str:
    """``heap above 409.6 MB, 3 checks, sustained``: the agent's rule as it fired."""
    if t is None:
        return ""
    size = human_bytes if t["metric"] == "heap" else "{:,}".format
    text = t["metric"] + (f" above {size(t['limit'])}" if t["limit"] is not None else "")
    if t["checks"]:
        text += f", {plural(t['checks'], 'check')}"
    return text + (f", {t['rule']}" if t["rule"] else "")


def _process(c: dict) -> str:
    return ", ".join(p for p in (f"pid {c['pid']}" if c["pid"] is not None else "",
                                 c["process"] or "") if p)


def _jvm(jvm: dict | None) -> str:
    if jvm is None:
        return ""
    text = " ".join(p for p in (jvm["name"], jvm["version"]) if p)
    return text + (f" ({jvm['vendor']})" if jvm["vendor"] else "")
