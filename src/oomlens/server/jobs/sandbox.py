"""One analysis in its own process, under a memory ceiling and a time limit.

Both the embedded runner and Celery workers run analyses this way rather than in their own
process: the analysis of a hostile or huge dump may exhaust memory, and a process killed by its
RLIMIT_AS or its clock takes nothing else down; the runner or worker survives to record why and
to retry later.

A child that did not end well (killed at its time limit, crashed) may have left its job folder
with the decompressed dump; the scratch root is swept then, not only at the next start.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import subprocess
import sys
import time

from oomlens.server.core import scratch
from oomlens.server.core.config import ServerSettings

STDERR_TAIL = 4096
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the child gets SIGKILL when the thread that started it dies. A runner or worker
    killed mid-analysis must not leave an orphan that finishes the job after the lease ran out and
    another runner took it over (both would write the report)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the lease and the claim still keep the job consistent


class AnalysisProcess:
    """``python -m oomlens.server.jobs.child_main REPORT_ID`` started now. Its stderr goes to an
    anonymous file, not a pipe: a pipe nobody reads while the child runs would block it once
    full."""

    def __init__(self, settings: ServerSettings, report_id: str):
        self.report_id = report_id
        self.time_limit = settings.analysis_time_limit_s
        self.started = time.monotonic()
        self.scratch_dir = settings.scratch_dir
        self._errors = scratch.scratch_file(self.scratch_dir)  # closed in finished()
        limit = settings.analysis_memory_limit_bytes

        def ceiling() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            _die_with_parent()

        self._process = subprocess.Popen(
            [sys.executable, "-m", "oomlens.server.jobs.child_main", report_id],
            env={**os.environ, **settings.to_env()}, preexec_fn=ceiling,
            stdout=subprocess.DEVNULL, stderr=self._errors)

    def finished(self) -> tuple[bool, str] | None:
        """None while it runs; then (succeeded, why not). A child over its time limit is
        killed here."""
        code = self._process.poll()
        if code is None:
            if time.monotonic() - self.started <= self.time_limit:
                return None
            self.kill()
            outcome = (False, f"took longer than {self.time_limit} s")
        elif code == 0:
            outcome = (True, "")
        else:
            self._errors.seek(max(0, self._errors.seek(0, 2) - STDERR_TAIL))
            tail = self._errors.read().decode(errors="replace").strip()
            outcome = (False, tail.splitlines()[-1] if tail else f"analysis exited with {code}")
        self._errors.close()
        if not outcome[0]:
            with contextlib.suppress(OSError):  # what it left waits for the next sweep then
                scratch.sweep(self.scratch_dir)  # the child is gone, and its lock with it
        return outcome

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
