"""`make run`'s job (scripts/serve_samples.py): a server on the embedded default, the sample
dumps uploaded and analysed, the issues and the URL printed; run again, it finds the same
project and reports (uploads are idempotent)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys

from conftest import TESTS
from serverrun import free_port


def run_once(data_dir) -> str:
    out = subprocess.run([sys.executable, str(TESTS.parent / "scripts" / "serve_samples.py"), "--once",
                          "--port", str(free_port()), "--data-dir", str(data_dir)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_make_run_serves_the_analysed_samples_and_says_where(tmp_path):
    first = run_once(tmp_path / "data")
    states = re.findall(r"^report [0-9a-f]{32}: (\w+)", first, re.M)
    assert states == ["done", "done", "done"], first
    issues = re.findall(r"^  #\d+ (\w+) +(\d+) report", first, re.M)
    declared = int(re.search(r"^(\d+) issues:", first, re.M).group(1))
    assert declared == len(issues) and ("leak", "1") in issues
    assert "LeakyService leaked" in first
    assert re.search(r"running at http://127\.0\.0\.1:\d+/", first)
    assert re.search(r"dashboard: http://127\.0\.0\.1:\d+/ ", first)
    keys = (tmp_path / "data" / "samples-keys.json")
    assert keys.stat().st_mode & 0o077 == 0  # the keys file is the user's only
    # the samples were uploaded as a user uploads (stripped at --level strings): the threads
    # keep their names, LeakCanary's watch texts do not
    with sqlite3.connect(tmp_path / "data" / "oomlens.db") as db:
        documents = [json.loads(row[0]) for row in db.execute(
            "SELECT report_json FROM reports ORDER BY received_at")]
    patterns = {g["pattern"] for d in documents for g in d["threads"]}
    assert {"FinalizerDaemon", "Binder_#", "main"} <= patterns and "<redacted>" not in patterns
    assert documents[0]["leaks"][0]["watch_keys"] == ["<redacted>"]
    again = run_once(tmp_path / "data")
    assert re.findall(r"^  #.*$", again, re.M) == re.findall(r"^  #.*$", first, re.M)
