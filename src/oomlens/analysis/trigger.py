"""Why the dump was taken, from its capture's sidecar: the report's ``capture`` section.

The agent dumps at an OutOfMemoryError and before one, when the heap after GC, the threads or
the open descriptors cross a threshold (docs/capture.md). A threshold dump has no error whose
message could be classified, and guessing an OOM kind for it would be wrong; what the report can
say is what crossed which limit, from the numbers the agent measured: "heap 86% of 512 MB after
GC, 3 checks". The sentence is composed here from those numbers rather than taken from the
agent's ``reason``, so that every agent version (and the Android SDK) reads the same; the reason
is the fallback when the numbers are missing.
"""

from __future__ import annotations

from oomlens.analysis.look_first import for_trigger
from oomlens.units import plural, short_bytes

# copied from the sidecar as they are (null when it did not know them)
COUNTS = ("heap_used_bytes", "heap_after_gc_bytes", "heap_max_bytes", "threads", "thread_limit",
          "open_fds", "fd_limit", "pid")
TEXTS = ("capture_id", "reason", "host", "process", "captured_at", "agent", "oom_thread",
         "oom_stack_trace")
THRESHOLD_KEYS = ("metric", "rule", "value", "limit", "max", "checks", "previous")
JVM_KEYS = ("name", "vendor", "version")

# trigger -> (threshold metric, the sidecar's own count of it, the sidecar's count of its max)
_MEASURED = {"heap-threshold": ("heap", "heap_after_gc_bytes", "heap_max_bytes"),
             "thread-threshold": ("threads", "threads", "thread_limit"),
             "fd-threshold": ("fds", "open_fds", "fd_limit")}
# what each trigger means, when nothing more is known (also the title of a threshold's issue)
DESCRIPTIONS = {"oom": "An OutOfMemoryError was thrown",
                "heap-threshold": "The heap after GC crossed the agent's threshold",
                "thread-threshold": "The thread count crossed the agent's threshold",
                "fd-threshold": "The open file descriptors crossed the agent's threshold"}


def capture_section(sidecar: dict) -> dict:
    """The report's ``capture`` section for a checked sidecar (``capture.sidecar``): every key
    present, null where the agent did not know it (docs/report-format.md)."""
    threshold = sidecar.get("threshold")
    jvm = sidecar.get("jvm")
    return {"trigger": sidecar["trigger"], "summary": summary(sidecar),
            "look_first": for_trigger(sidecar["trigger"]),
            "threshold": ({k: threshold.get(k) for k in THRESHOLD_KEYS}
                          if threshold is not None else None),
            **{k: sidecar.get(k) for k in COUNTS}, **{k: sidecar.get(k) for k in TEXTS},
            "jvm": {k: jvm.get(k) for k in JVM_KEYS} if jvm is not None else None,
            "truncated": bool(sidecar.get("truncated", False))}


def summary(sidecar: dict) -> str:
    """One line on why the dump was taken: for ``oom`` the error's first line; for a threshold
    what crossed which limit, from the numbers; else the agent's reason."""
    trigger = sidecar["trigger"]
    if trigger == "oom":
        first = (sidecar.get("oom_message") or "").strip().split("\n", 1)[0].strip()
        return first or sidecar.get("reason") or DESCRIPTIONS[trigger]
    return _measured(trigger, sidecar) or sidecar.get("reason") or DESCRIPTIONS[trigger]


def _measured(trigger: str, sidecar: dict) -> str | None:
    """The sentence for a threshold trigger, or None when the value that crossed is unknown.
    The threshold's own numbers come first; the sidecar's counts stand in for missing ones
    (an agent may leave out the threshold object)."""
    metric, count_key, max_key = _MEASURED[trigger]
    threshold = sidecar.get("threshold") or {}
    if threshold.get("metric", metric) != metric:
        threshold = {}  # about another metric than the trigger: not this trigger's numbers
    value = threshold.get("value", sidecar.get(count_key))
    if value is None:
        return None
    most = threshold.get("max", sidecar.get(max_key)) or None  # 0: no usable limit
    if metric == "heap":
        return _heap(threshold, value, most)
    noun = "threads" if metric == "threads" else "open files"
    if most:
        joint = ", limit " if metric == "threads" else " of "
        return f"{value:,} {noun}{joint}{most:,} ({_percent(value, most)})"
    limit = threshold.get("limit")
    return f"{value:,} {noun}" + (f", threshold {limit:,}" if limit is not None else "")


def _heap(threshold: dict, value: int, most: int | None) -> str:
    def share(n: int) -> str:
        return _percent(n, most) if most else short_bytes(n)

    of_max = f" of {short_bytes(most)}" if most else ""
    previous = threshold.get("previous")
    if threshold.get("rule") == "step":
        since = f" (from {share(previous)})" if previous is not None else ""
        return f"heap rose to {share(value)}{of_max} after GC{since} between two checks"
    text = f"heap {share(value)}{of_max} after GC"
    if not most and threshold.get("limit") is not None:
        text += f", threshold {short_bytes(threshold['limit'])}"
    if threshold.get("checks"):
        text += f", {plural(threshold['checks'], 'check')}"
    return text


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%"
