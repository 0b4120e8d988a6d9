"""``oomlens analyze`` with a capture's sidecar: given with --sidecar, or found beside a spool
dump (``X.hprof`` and ``X.json``) and said so; --no-sidecar; a bad sidecar is one line, exit 2.
On a real JVM dump (tests/java/ThreadFixtures) laid out as the agent's spool names it."""

from __future__ import annotations

import json
import shutil

import pytest

from cliutil import oomlens_cli

pytestmark = pytest.mark.jvm

BASE = "checkout-20261203T113424512Z-4711-thread-threshold"
OOM = "java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory"


def thread_sidecar(threads: int, limit: int, trigger: str = "thread-threshold", **more) -> dict:
    return {"schema": "oomlens.capture/1", "capture_id": "0c6f", "trigger": trigger,
            "threshold": {"metric": "threads", "value": threads, "limit": threads,
                          "max": limit, "checks": 1, "rule": "sustained"},
            "threads": threads, "thread_limit": limit, "pid": 4711, **more}


@pytest.fixture(scope="module")
def spool(java_dumps, tmp_path_factory):
    """A spool holding the ThreadFixtures dump as BASE.hprof and its sidecar as BASE.json;
    the sidecar's thread count is the dump's (analysed once without it)."""
    folder = tmp_path_factory.mktemp("spool")
    dump = folder / f"{BASE}.hprof"
    shutil.copy(java_dumps("ThreadFixtures"), dump)
    plain = oomlens_cli("analyze", dump, "--format", "json", "--no-progress")
    assert plain.returncode == 0, plain.stderr
    threads = sum(g["count"] for g in json.loads(plain.stdout)["threads"])
    (folder / f"{BASE}.json").write_text(json.dumps(thread_sidecar(threads, 4 * threads)))
    return dump, threads


def test_the_sidecar_beside_a_spool_dump_is_used_and_said(spool):
    dump, threads = spool
    result = oomlens_cli("analyze", dump, "--format", "json", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"oomlens: using the capture sidecar {dump.with_suffix('.json')} (thread-threshold); "
        "--no-sidecar to leave it out"]
    doc = json.loads(result.stdout)
    assert doc["capture"]["summary"] == f"{threads} threads, limit {4 * threads} (25%)"
    assert doc["capture"]["look_first"] == ["threads"] and doc["oom_cause"] is None
    text = oomlens_cli("analyze", dump, "--no-progress").stdout
    assert text.index("Threads (") < text.index("Leaks")

    left_out = oomlens_cli("analyze", dump, "--format", "json", "--no-progress", "--no-sidecar")
    assert left_out.returncode == 0 and left_out.stderr == ""
    assert json.loads(left_out.stdout)["capture"] is None


def test_a_sidecar_given_supplies_the_oom_message(spool, tmp_path):
    dump, threads = spool
    path = tmp_path / "oom.json"
    path.write_text(json.dumps(thread_sidecar(threads, 4 * threads, "oom", oom_message=OOM)))
    result = oomlens_cli("analyze", dump, "--format", "json", "--no-progress",
                         "--sidecar", path)
    assert result.returncode == 0, result.stderr
    assert "using the capture sidecar" not in result.stderr  # given, not found
    doc = json.loads(result.stdout)
    assert doc["capture"]["trigger"] == "oom" and doc["capture"]["summary"] == OOM
    assert doc["oom_cause"]["kind"] == "thread-limit" and doc["oom_cause"]["message"] == OOM
    given = oomlens_cli("analyze", dump, "--format", "json", "--no-progress", "--sidecar", path,
                        "--oom-message", "Java heap space")
    assert json.loads(given.stdout)["oom_cause"]["kind"] == "heap-exhausted"


def test_a_file_beside_that_is_no_sidecar_is_left_alone(spool, tmp_path):
    dump, _ = spool
    other = tmp_path / "report.hprof"
    shutil.copy(dump, other)
    (tmp_path / "report.json").write_text('{"schema": "oomlens.report/1"}')
    result = oomlens_cli("analyze", other, "--format", "json", "--no-progress")
    assert result.returncode == 0 and result.stderr == ""
    assert json.loads(result.stdout)["capture"] is None


@pytest.mark.parametrize("content, message", [
    ("{not json", "not JSON"),
    (json.dumps({"trigger": "cpu-threshold"}), "trigger must be one of oom, heap-threshold"),
    (json.dumps({"trigger": "oom", "threads": -3}), "threads must be a non-negative integer"),
    (json.dumps({"trigger": "oom", "reason": "x" * (70 << 10)}), "larger than 64 KiB"),
])
def test_a_bad_sidecar_is_a_one_line_error(spool, tmp_path, content, message):
    dump, _ = spool
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = oomlens_cli("analyze", dump, "--sidecar", path, "--no-progress")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert str(path) in result.stderr and "Traceback" not in result.stderr


def test_sidecar_and_no_sidecar_together_are_refused(spool, tmp_path):
    dump, _ = spool
    result = oomlens_cli("analyze", dump, "--sidecar", tmp_path / "missing.json",
                         "--no-sidecar")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "contradict" in result.stderr
    missing = oomlens_cli("analyze", dump, "--sidecar", tmp_path / "missing.json")
    assert missing.returncode == 2 and "missing.json" in missing.stderr
    assert missing.stderr.count("\n") == 1
