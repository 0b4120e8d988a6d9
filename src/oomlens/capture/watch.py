"""``oomlens watch``: send what the agent captured to the server, losing and duplicating nothing.

Each round reads the spool (``spool.scan_spool``), removes leftovers, keeps the spool under its
byte limit, then takes the captures oldest first: strips and packs one into the work folder,
uploads it with the capture's idempotency key, records the server's answer in a marker and only
then deletes the capture. A ``watch`` killed at any moment starts again from what is on disk:
a capture whose marker exists is only finished off, and one without a marker is sent again with
the same key, which the server answers with the report it already has.

When the server cannot be reached the round stops at the first capture (the others would fail
the same way) and the next round waits longer, up to ``MAX_BACKOFF_S``. A capture the server
refuses for good (415, 422, 413...) is moved to ``rejected/`` with the reason, so it neither
blocks the queue nor is retried forever; a refused key (401, 403) is a problem of the
configuration, not of the capture, so the capture stays.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from oomlens.capture import spool as S
from oomlens.capture.sender import Retry, ServerUnavailable, UploadRefused, send_dump
from oomlens.capture.sidecar import SCHEMA, upload_fields
from oomlens.errors import OomlensError
from oomlens.units import human_bytes

MAX_BACKOFF_S = 300.0
KEY_REFUSED = (401, 403)
COUNTERS = ("uploaded", "already_uploaded", "rejected", "evicted", "removed")

Log = Callable[[str], None]


@dataclass(frozen=True)
class WatchSettings:
    spool: Path
    server: str
    key: str
    level: str = "strings"
    keep_thread_names: bool | None = None  # strip's default: kept at the strings level
    keep: bool = False  # keep uploaded captures (marked, never sent again)
    max_bytes: int | None = None
    settle_s: float = 60.0
    retries: int = 2  # quick retries of one upload within a round


@dataclass
class RoundResult:
    uploaded: list[str] = field(default_factory=list)  # report ids
    waiting: int = 0  # captures left for a later round
    server_away: str | None = None  # why the round stopped early
    key_refused: str | None = None


def log_line(message: str) -> None:
    """One line on stderr with the UTC time: what a journal or a container log keeps."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    os.write(2, f"{stamp} oomlens watch: {message}\n".encode("utf-8", "replace"))


class Watcher:
    def __init__(self, settings: WatchSettings, log: Log = log_line):
        self.settings = settings
        self.log = log
        self.spool = settings.spool
        self.work = self.spool / S.WORK_DIR
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.failures = 0  # rounds in a row that found the server away

    def start(self) -> None:
        """Check the spool and clear what a killed run left in the work folder."""
        if not self.spool.is_dir():
            raise OomlensError(f"{self.spool}: no such folder (the agent's spool=)")
        try:
            self.work.mkdir(exist_ok=True)
        except OSError as exc:
            raise OomlensError(f"{self.spool}: cannot write here ({exc.strerror})") from None
        self.counters.update(self._load_counters())
        for stale in self.work.glob("*.oomp*"):
            stale.unlink(missing_ok=True)

    def next_delay(self, interval: float) -> float:
        """How long to sleep before the next round."""
        if not self.failures:
            return interval
        return min(interval * 2 ** (self.failures - 1), MAX_BACKOFF_S)

    def round(self) -> RoundResult:
        scan = S.scan_spool(self.spool, self.settings.settle_s)
        for path in scan.leftovers:
            path.unlink(missing_ok=True)
            self.log(f"removed leftover {path.name}")
        kept = []
        for capture in scan.captures:
            if capture.report_id is not None and not self.settings.keep:
                S.remove_capture(capture)  # a run killed after the server's answer
            else:
                kept.append(capture)
        evicted = self._bound_spool(kept)
        pending = [c for c in kept if c.report_id is None and c.base not in evicted]
        result = RoundResult(waiting=len(pending))
        for capture in pending:
            if not self._send(capture, result):
                break
            result.waiting -= 1
        self.failures = self.failures + 1 if result.server_away else 0
        return result

    # -- one capture ---------------------------------------------------------------------------
    def _send(self, capture: S.Capture, result: RoundResult) -> bool:
        """Upload ``capture``; False when the round should stop (the server is away)."""
        if capture.dump is None or S.file_size(capture.dump) < S.MIN_DUMP_BYTES:
            S.remove_capture(capture)
            self._count("removed")
            self.log(f"removed {capture.base}: its process died before the dump was written")
            return True
        packed = self.work / f"{capture.base}.oomp"
        try:
            try:
                self._strip(capture, packed)
            except OomlensError as exc:
                self._reject(capture, f"not a dump oomlens can read: {exc}")
                return True
            fields, key = self._fields(capture), capture.idempotency_key()
            try:
                answer = send_dump(self.settings.server, self.settings.key, packed, fields, key,
                                   self.settings.retries, self._retrying(capture))
            except ServerUnavailable as exc:
                result.server_away = str(exc)
                self.log(f"{exc}; {result.waiting} capture(s) waiting")
                return False
            except UploadRefused as exc:
                if exc.status in KEY_REFUSED:
                    result.key_refused = str(exc)
                    self.log(f"{exc}: check --key (the project's ingest key); nothing removed")
                    return False
                self._reject(capture, str(exc))
                return True
        finally:
            packed.unlink(missing_ok=True)
        S.mark_uploaded(capture, answer["id"])
        created = answer.get("created", True)
        self._count("uploaded" if created else "already_uploaded")
        what = "new report" if created else "the server had it already as report"
        truncated = " (truncated: its process died while dumping)" if capture.truncated else ""
        self.log(f"uploaded {capture.base}{truncated}: {what} {answer['id']}")
        result.uploaded.append(answer["id"])
        if not self.settings.keep:
            S.remove_capture(capture)
        return True

    def _strip(self, capture: S.Capture, packed: Path) -> None:
        from oomlens.hprof.strip import strip_dump

        outcome = strip_dump(capture.dump, packed, self.settings.level, "packed",
                             keep_thread_names=self.settings.keep_thread_names)
        for warning in outcome.warnings:
            self.log(f"{capture.base}: {warning}")

    def _fields(self, capture: S.Capture) -> dict[str, str]:
        """The upload's form fields: the sidecar's (docs/capture.md), marked truncated for an
        abandoned capture; for the JVM's own dump, what its name and this host say."""
        sidecar = capture.sidecar
        if capture.problem:
            self.log(f"{capture.base}: sent without its sidecar, which cannot be read: "
                     f"{capture.problem}")
        if sidecar is None and S.is_jvm_oom_dump(capture):
            sidecar = {"schema": SCHEMA, "trigger": "oom", "host": socket.gethostname(),
                       "dump_file": capture.dump.name,
                       "reason": "the JVM's own -XX:+HeapDumpOnOutOfMemoryError dump"}
        if sidecar is None:
            return {"device_model": socket.gethostname()}
        if capture.truncated:
            sidecar = {**sidecar, "truncated": True}
        return upload_fields(sidecar)

    def _retrying(self, capture: S.Capture) -> Callable[[Retry], None]:
        def say(retry: Retry) -> None:
            self.log(f"uploading {capture.base} failed ({retry.problem}); waiting for "
                     f"{retry.waiting_for}: retrying in {retry.delay_s:.1f} s, "
                     f"{retry.attempts_left} left")
        return say

    def _reject(self, capture: S.Capture, reason: str) -> None:
        S.reject_capture(capture, self.spool, reason)
        self._count("rejected")
        self.log(f"rejected {capture.base}, moved to {S.REJECTED_DIR}/: {reason}")

    # -- the bound -----------------------------------------------------------------------------
    def _bound_spool(self, captures: list[S.Capture]) -> set[str]:
        """Remove the oldest captures (rejected files included) until the spool fits; the
        bases of the captures removed."""
        limit = self.settings.max_bytes
        evicted: set[str] = set()
        if limit is None:
            return evicted
        entries = [(c.taken_at, c.size, c.base, lambda c=c: S.remove_capture(c))
                   for c in captures]
        entries += [(when, S.file_size(p), f"{S.REJECTED_DIR}/{p.name}", p.unlink)
                    for when, p in S.rejected_files(self.spool)]
        total = sum(e[1] for e in entries)
        for _, size, name, remove in sorted(entries, key=lambda e: e[0]):
            if total <= limit:
                break
            remove()
            evicted.add(name)
            total -= size
            self._count("evicted")
            self.log(f"removed {name} ({human_bytes(size)}) to keep the spool under "
                      f"{human_bytes(limit)} (--max-bytes); {self.counters['evicted']} "
                      f"removed so far")
        return evicted

    # -- counters ------------------------------------------------------------------------------
    def _count(self, name: str) -> None:
        self.counters[name] += 1
        self._save_counters()

    def _load_counters(self) -> dict[str, int]:
        try:
            data = json.loads((self.work / "state.json").read_text())
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in data.items() if k in COUNTERS and isinstance(v, int)}

    def _save_counters(self) -> None:
        path = self.work / "state.json"
        tmp = path.with_name("state.json.tmp")
        tmp.write_text(json.dumps(self.counters) + "\n")
        os.replace(tmp, path)


def watch(settings: WatchSettings, interval: float, once: bool, log: Log = log_line,
          stop: Callable[[], bool] = lambda: False) -> RoundResult:
    """Rounds until ``stop()`` (or one, with ``once``); the last round's result."""
    watcher = Watcher(settings, log)
    watcher.start()
    log(f"watching {settings.spool} for {settings.server}")
    while True:
        result = watcher.round()
        if once or stop():
            return result
        deadline = time.monotonic() + watcher.next_delay(interval)
        while time.monotonic() < deadline and not stop():
            time.sleep(min(0.2, interval))
        if stop():
            return result
