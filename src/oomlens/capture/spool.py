"""Reading a spool folder: which captures are complete, abandoned, in progress or the JVM's own.

The agent writes each capture as files sharing a base name (docs/capture.md): a lock it holds
while it works, the dump, and last the sidecar, whose presence makes the capture complete. A
reader must never take a dump that is still being written for a finished one, and must still
send what a process that died mid-dump left behind, as truncated. The lock tells them apart
without any clock: the agent holds an ``fcntl`` lock on ``BASE.lock`` for as long as it writes,
and the kernel drops that lock when the process dies, however it dies. The JVM's own
``-XX:+HeapDumpOnOutOfMemoryError`` dumps have no lock, so for those the only sign of completion
is that the file stopped changing (``settle_s``).

Removal happens in one order (``remove_capture``): a dump is never left without its sidecar
while its marker is gone, so a reader killed half-way never mistakes the remains for a new
capture.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from oomlens.capture.sidecar import BadSidecar, read_sidecar

COMPLETE = "complete"  # dump + sidecar
ABANDONED = "abandoned"  # the agent died mid-capture: what it wrote, as truncated
JVM_DUMP = "jvm"  # an .hprof with no sidecar and no lock (HeapDumpOnOutOfMemoryError, jcmd)

WORK_DIR = ".oomlens-watch"
REJECTED_DIR = "rejected"
LEFTOVER_AGE_S = 3600  # a .tmp this old belongs to no writer any more
MIN_DUMP_BYTES = 32  # shorter than an HPROF header: nothing to send

_JVM_NAME = re.compile(r"^java_pid\d+(\.\d+)?$")
# suffix -> role, longest first (BASE.partial.hprof must not read as BASE.partial + .hprof)
_SUFFIXES = ((".partial.hprof", "partial"), (".json.tmp", "tmp"), (".hprof", "dump"),
             (".json", "sidecar"), (".lock", "lock"), (".uploaded", "marker"),
             (".tmp", "tmp"))


@dataclass
class Capture:
    base: str
    kind: str  # COMPLETE, ABANDONED or JVM_DUMP
    dump: Path | None
    sidecar: dict | None  # checked; an abandoned capture's is the early one from its lock
    files: list[Path]  # every file of the capture
    taken_at: float  # seconds since the epoch, for oldest-first
    report_id: str | None = None  # from BASE.uploaded: the server has it
    problem: str | None = None  # why its sidecar could not be read

    @property
    def size(self) -> int:
        return sum(file_size(p) for p in self.files)

    @property
    def truncated(self) -> bool:
        return self.kind == ABANDONED

    def idempotency_key(self) -> str:
        """The same for every attempt at this capture, across restarts of the reader."""
        if self.sidecar and self.sidecar.get("capture_id"):
            return f"capture-{self.sidecar['capture_id']}"
        stat = self.dump.stat() if self.dump else None
        seed = f"{socket.gethostname()}|{self.base}|{stat and stat.st_size}|" \
               f"{stat and stat.st_mtime_ns}"
        return "capture-" + hashlib.sha256(seed.encode()).hexdigest()[:40]


@dataclass
class SpoolScan:
    """What a reader may take now; captures in progress and JVM dumps that may still grow are
    left out (the next scan sees them again)."""

    captures: list[Capture] = field(default_factory=list)  # oldest first
    leftovers: list[Path] = field(default_factory=list)  # files no capture needs


def lock_is_held(path: Path) -> bool:
    """Whether a live process holds ``path`` locked (the agent writing its capture)."""
    try:
        with open(path, "rb") as f:
            try:
                fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.lockf(f, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False


def scan_spool(spool: Path, settle_s: float, now: float | None = None) -> SpoolScan:
    """What is in ``spool`` right now."""
    now = time.time() if now is None else now
    groups: dict[str, dict[str, Path]] = {}
    result = SpoolScan()
    for entry in os.scandir(spool):
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        for suffix, role in _SUFFIXES:
            if entry.name.endswith(suffix) and len(entry.name) > len(suffix):
                groups.setdefault(entry.name[:-len(suffix)], {})[role] = Path(entry.path)
                break
    for base, files in groups.items():
        _classify(base, files, settle_s, now, result)
    result.captures.sort(key=lambda c: (c.taken_at, c.base))
    return result


def _classify(base: str, files: dict[str, Path], settle_s: float, now: float,
              result: SpoolScan) -> None:
    if "tmp" in files and now - _mtime(files["tmp"]) > LEFTOVER_AGE_S:
        result.leftovers.append(files.pop("tmp"))
    files.pop("tmp", None)  # a young .tmp is being written: its capture decides
    everything = [files[r] for r in ("dump", "partial", "sidecar", "lock", "marker") if r in files]
    marker = files.get("marker")
    report_id = _read_marker(marker) if marker else None
    if "sidecar" in files and "dump" in files:  # complete, even if the lock is still there
        sidecar, problem = _checked_sidecar(files["sidecar"])
        result.captures.append(Capture(base, COMPLETE, files["dump"], sidecar, everything,
                                       _taken_at(sidecar, files["dump"]), report_id, problem))
    elif "lock" in files or "partial" in files:
        if "lock" in files and lock_is_held(files["lock"]):
            return  # an agent is writing it
        lock = files.get("lock")
        # the agent may have died before it wrote what it knew into its lock
        sidecar, problem = _checked_sidecar(lock) if lock and file_size(lock) else (None, None)
        dump = files.get("dump") or files.get("partial")
        result.captures.append(Capture(base, ABANDONED, dump, sidecar, everything,
                                       _taken_at(sidecar, dump or files["lock"]), report_id,
                                       problem))
    elif "dump" in files:
        if marker is None and now - _mtime(files["dump"]) < settle_s:
            return  # the JVM may still be writing it
        result.captures.append(Capture(base, JVM_DUMP, files["dump"], None, everything,
                                       _mtime(files["dump"]), report_id))
    else:  # a sidecar or a marker whose dump is gone: the end of an interrupted removal
        result.leftovers.extend(everything)


def is_jvm_oom_dump(capture: Capture) -> bool:
    """A dump HotSpot wrote at an OutOfMemoryError (java_pid<pid>.hprof)."""
    return bool(_JVM_NAME.match(capture.base))


def _checked_sidecar(path: Path) -> tuple[dict | None, str | None]:
    """(the sidecar in ``path``, None) or (None, why it cannot be read): a sidecar or the early
    one in a lock."""
    try:
        return read_sidecar(path), None
    except BadSidecar as exc:
        return None, str(exc)


def _taken_at(sidecar: dict | None, fallback: Path) -> float:
    when = (sidecar or {}).get("captured_at")
    if when:
        try:
            return datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return _mtime(fallback)


def _read_marker(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()[:64] or "?"
    except OSError:
        return "?"


def mark_uploaded(capture: Capture, report_id: str) -> None:
    """Record that the server has ``capture`` (before anything of it is removed)."""
    folder = (capture.dump or capture.files[0]).parent
    marker = folder / f"{capture.base}.uploaded"
    _write_atomically(marker, report_id + "\n")
    capture.report_id = report_id
    if marker not in capture.files:
        capture.files.append(marker)


def remove_capture(capture: Capture) -> None:
    """Delete every file of ``capture``: the dump first, the marker last."""
    order = {".hprof": 0, ".json": 1, ".lock": 2, ".uploaded": 3}
    for path in sorted(capture.files, key=lambda p: order.get(p.suffix, 1)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def reject_capture(capture: Capture, spool: Path, reason: str) -> Path:
    """Move ``capture`` into ``spool/rejected/`` with a ``.reason`` file; the new folder."""
    folder = spool / REJECTED_DIR
    folder.mkdir(exist_ok=True)
    _write_atomically(folder / f"{capture.base}.reason", reason + "\n")
    # the dump first: a sidecar left behind is a leftover, a dump left behind would be sent again
    for path in sorted(capture.files, key=lambda p: p.suffix != ".hprof"):
        try:
            os.replace(path, folder / path.name)
        except FileNotFoundError:
            pass
    return folder


def rejected_files(spool: Path) -> list[tuple[float, Path]]:
    """(modification time, path) of every file in ``spool/rejected``."""
    folder = spool / REJECTED_DIR
    if not folder.is_dir():
        return []
    return [(_mtime(Path(e.path)), Path(e.path)) for e in os.scandir(folder) if e.is_file()]


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def file_size(path: Path) -> int:
    """Bytes of ``path``, 0 when it is gone (a removal may race a scan)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
