"""A real ``oomlens serve`` for tests, and the API calls they all make: upload a dump, wait
until its analysis ends. Servers run as processes on a fresh data folder (SQLite unless the
test's environment names another database) and are killed, with their analyses, at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from conftest import DATA
from oomlens.errors import OomlensError
from oomlens.server.probe import free_port, wait_until_up

OOMLENS = [sys.executable, "-m", "oomlens.cli.main"]
DUMP = DATA / "dalvik_leak_service_binder.hprof.gz"
OOM = "java.lang.OutOfMemoryError: Failed to allocate a 65548 byte allocation with 3200 free bytes"


class Server:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OOMLENS_")}
        self.env["OOMLENS_LEASE_S"] = "3"
        self.env["OOMLENS_RETRY_BACKOFF_S"] = "1"  # a crashed analysis is retried at once
        self.process = None

    def create_project(self, slug: str) -> dict:
        out = subprocess.run([*OOMLENS, "project", "create", slug, "--data-dir",
                              str(self.data_dir)], capture_output=True, text=True,
                             env=self.env, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def start(self) -> None:
        """Start the server; its stderr goes to server.log beside the data folder (a pipe that
        nobody reads would block the server once full)."""
        log = self.data_dir.parent / "server.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as err:
            self.process = subprocess.Popen(
                [*OOMLENS, "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)],
                env=self.env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            wait_until_up(self.url, self.process)
        except OomlensError as exc:
            if self.process.poll() is None:
                self.kill()
            raise AssertionError(f"{exc}: {log.read_text()[-2000:]}") from None

    def kill(self) -> None:
        """SIGKILL the server and its analysis children: nothing gets to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def upload(server, key, path=DUMP, idem="u1", **form):
    with open(path, "rb") as f:
        return httpx.post(f"{server.url}/api/v1/reports", files={"dump": (path.name, f)},
                          data={"app_version": "1.0", "oom_message": OOM, **form},
                          headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem},
                          timeout=60)


def wait_done(server, key, report_id, timeout=180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(f"{server.url}/api/v1/reports/{report_id}",
                      headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
        if r["status"] in ("done", "failed", "dead"):
            return r
        time.sleep(0.3)
    raise AssertionError(f"report {report_id} not analysed in {timeout} s")
