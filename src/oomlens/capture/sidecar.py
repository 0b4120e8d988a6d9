"""The capture sidecar, ``oomlens.capture/1``: what the agent knew when it took a dump.

One reader for everyone who receives a sidecar: ``oomlens watch`` and ``oomlens upload``
(from the spool), ``oomlens analyze --sidecar`` and the server (from an upload's ``capture``
field). The agent that wrote it runs in somebody's app and the server takes it from the network,
so it is checked like any untrusted input: a size limit, known keys only, each with its type;
strings are cut to a length, numbers must be non-negative integers. Keys it does not know are
dropped (a newer agent may add some); a known key of the wrong type is an error, since that is
not a sidecar of this format. docs/capture.md documents every key.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from oomlens.errors import OomlensError

SCHEMA = "oomlens.capture/1"
MAX_BYTES = 64 << 10
TRIGGERS = ("oom", "heap-threshold", "thread-threshold", "fd-threshold")
THRESHOLD_TRIGGERS = TRIGGERS[1:]
METRICS = ("heap", "threads", "fds")
RULES = ("sustained", "step")

# key -> longest value kept
_STRINGS = {"capture_id": 100, "reason": 500, "oom_message": 10_000, "oom_stack_trace": 64 << 10,
            "oom_thread": 200, "app": 100, "version": 100, "build": 100, "host": 200,
            "process": 200, "captured_at": 40, "dump_file": 300, "agent": 100}
_INTEGERS = ("pid", "heap_used_bytes", "heap_after_gc_bytes", "heap_max_bytes", "threads",
             "thread_limit", "open_fds", "fd_limit", "dump_bytes", "dump_millis")
_NESTED = {"jvm": ("name", "vendor", "version"), "os": ("name", "version", "arch")}
_THRESHOLD_INTEGERS = ("value", "limit", "max", "checks", "previous")


class BadSidecar(OomlensError):
    """Not a capture sidecar of this format (the message says why)."""


def read_sidecar(path: Path | str) -> dict:
    """The checked sidecar in the file ``path``, read no further than the size limit."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise BadSidecar(f"{path}: {exc.strerror or exc}") from None
    return parse_sidecar(raw, str(path))


def parse_sidecar(raw: bytes | str, source: str = "the sidecar") -> dict:
    """The checked sidecar in ``raw`` (JSON text). ``source`` names it in error messages."""
    if len(raw) > MAX_BYTES:
        raise BadSidecar(f"{source}: larger than {MAX_BYTES // 1024} KiB")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadSidecar(f"{source}: not JSON ({str(exc)[:100]})") from None
    return checked_sidecar(data, source)


def checked_sidecar(data, source: str = "the sidecar") -> dict:
    """``data`` (decoded JSON) reduced to the known keys, each of its type."""
    if not isinstance(data, dict):
        raise BadSidecar(f"{source}: expected a JSON object")
    if data.get("schema", SCHEMA) != SCHEMA:
        raise BadSidecar(f"{source}: schema {str(data.get('schema'))[:60]!r}, expected {SCHEMA}")
    out: dict = {"schema": SCHEMA}
    trigger = data.get("trigger")
    if trigger not in TRIGGERS:
        raise BadSidecar(f"{source}: trigger must be one of {', '.join(TRIGGERS)}")
    out["trigger"] = trigger
    for key, longest in _STRINGS.items():
        value = data.get(key)
        if value is not None:
            out[key] = _string(value, key, longest, source)
    for key in _INTEGERS:
        value = data.get(key)
        if value is not None:
            out[key] = _count(value, key, source)
    for key, fields in _NESTED.items():
        value = data.get(key)
        if value is not None:
            if not isinstance(value, dict):
                raise BadSidecar(f"{source}: {key} must be an object")
            out[key] = {f: _string(value[f], f"{key}.{f}", 200, source)
                        for f in fields if value.get(f) is not None}
    if data.get("threshold") is not None:
        out["threshold"] = _threshold(data["threshold"], source)
    if data.get("truncated") is not None:
        if not isinstance(data["truncated"], bool):
            raise BadSidecar(f"{source}: truncated must be true or false")
        out["truncated"] = data["truncated"]
    return out


def _threshold(value, source: str) -> dict:
    if not isinstance(value, dict):
        raise BadSidecar(f"{source}: threshold must be an object")
    out = {}
    if value.get("metric") not in METRICS:
        raise BadSidecar(f"{source}: threshold.metric must be one of {', '.join(METRICS)}")
    out["metric"] = value["metric"]
    if value.get("rule") is not None:
        if value["rule"] not in RULES:
            raise BadSidecar(f"{source}: threshold.rule must be one of {', '.join(RULES)}")
        out["rule"] = value["rule"]
    for key in _THRESHOLD_INTEGERS:
        if value.get(key) is not None:
            out[key] = _count(value[key], f"threshold.{key}", source)
    return out


def _string(value, key: str, longest: int, source: str) -> str:
    if not isinstance(value, str):
        raise BadSidecar(f"{source}: {key} must be a string")
    return value[:longest]


def _count(value, key: str, source: str) -> int:
    # JSON has one number type: 440401920.0 is accepted as the integer it is
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 63:
        raise BadSidecar(f"{source}: {key} must be a non-negative integer")
    return value


def sidecar_json(sidecar: dict) -> str:
    """A checked sidecar as compact JSON, as uploads carry it and the server keeps it."""
    return json.dumps(sidecar, ensure_ascii=False, separators=(",", ":"))


def upload_fields(sidecar: dict) -> dict[str, str]:
    """The form fields of the upload (docs/capture.md, "The upload"), empty ones left out."""
    os_info = sidecar.get("os") or {}
    fields = {"app_version": sidecar.get("version", ""), "build": sidecar.get("build", ""),
              "device_model": sidecar.get("host", ""),
              "os_version": " ".join(filter(None, (os_info.get("name"), os_info.get("version")))),
              "process": sidecar.get("app", ""), "oom_message": sidecar.get("oom_message", ""),
              "occurred_at": sidecar.get("captured_at", ""), "trigger": sidecar["trigger"],
              "capture": sidecar_json(sidecar)}
    if sidecar.get("heap_max_bytes") is not None:
        fields["heap_limit_bytes"] = str(sidecar["heap_max_bytes"])
    return {k: v for k, v in fields.items() if v}
