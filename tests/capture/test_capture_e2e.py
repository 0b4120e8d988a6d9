"""Capture end to end, as a user deploys it: a real JVM runs a program under the agent
(``java -javaagent:$(oomlens agent path)=spool=...``), ``oomlens watch`` uploads what the
agent wrote to a real ``oomlens serve``, and the analysed report says what happened: the OOM's
cause and leak, the threads or descriptors a threshold dump was taken for, by name and owner.
Each report is compared with ``oomlens analyze`` run locally on the unstripped dump."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from agentrun import Run, compile_programs, completed_captures, java_command, run_under_agent
from serverrun import OOMLENS, Server, wait_done

pytestmark = pytest.mark.jvm

@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> Path:
    return compile_programs(tmp_path_factory.mktemp("capture"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("capture-server") / "data")
    s.keys = s.create_project("shop")
    s.start()
    yield s
    if s.process.poll() is None:
        s.kill()


def run_app(classes: Path, spool: Path, program: str, *args: str, jvm=("-Xmx64m",),
            limits: str | None = None, **options) -> Run:
    """PROGRAM under the agent as a user starts it (app shop, version 2.1); ``options`` are
    the agent's (``interval`` is agentrun's test setting), ``limits`` a ulimit for the JVM."""
    return run_under_agent(classes, program, *args, spool=spool, jvm_options=jvm,
                           limits=limits, options={"app": "shop", "version": "2.1", **options})


def only_capture(spool: Path) -> tuple[Path, dict]:
    """The one complete capture in ``spool``: its dump and its sidecar."""
    [capture] = completed_captures(spool)
    return capture.dump, capture.sidecar


def upload_spool(server: Server, spool: Path) -> dict:
    """``oomlens watch --once``; the analysed report's row (the server had nothing before)."""
    before = {r["id"] for r in api(server, "/api/v1/reports?limit=500")["reports"]}
    run = subprocess.run([*OOMLENS, "watch", str(spool), "--once", "--server", server.url,
                          "--key", server.keys["ingest_key"]], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert not [p for p in spool.iterdir() if not p.name.startswith(".")]  # all sent, deleted
    [new] = [r for r in api(server, "/api/v1/reports?limit=500")["reports"]
             if r["id"] not in before]
    state = wait_done(server, server.keys["read_key"], new["id"], timeout=300)
    assert state["status"] == "done", state
    return state


def api(server: Server, path: str):
    r = httpx.get(server.url + path, timeout=30,
                  headers={"Authorization": f"Bearer {server.keys['read_key']}"})
    assert r.status_code == 200, r.text
    return r.json()


def local_report(dump: Path, *args: str) -> dict:
    run = subprocess.run([*OOMLENS, "analyze", "--format", "json", "--no-progress",
                          "--no-sidecar", *args, str(dump)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_an_app_that_runs_out_of_memory_ends_as_an_analysed_report(classes, server, tmp_path):
    spool = tmp_path / "spool"
    run = run_app(classes, spool, "OomLeak", "16", interval="15s")
    assert run.returncode == 1, run.stderr  # the OutOfMemoryError still ends the program
    assert 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space' in run.stderr
    dump, sidecar = only_capture(spool)
    assert (sidecar["trigger"], sidecar["oom_message"]) == \
        ("oom", "java.lang.OutOfMemoryError: Java heap space")
    local = local_report(dump, "--oom-message", sidecar["oom_message"])
    copy = tmp_path / "original.hprof"
    os.link(dump, copy)  # watch deletes the spool's copy once uploaded
    row = upload_spool(server, spool)
    assert (row["trigger"], row["oom_cause"], row["app_version"]) == \
        ("oom", "heap-exhausted", "2.1")
    doc = api(server, f"/api/v1/reports/{row['id']}/report")
    assert doc["oom_cause"]["kind"] == "heap-exhausted"
    assert doc["capture"]["trigger"] == "oom"
    assert "OomLeak.leakUntilOutOfMemory" in doc["capture"]["oom_stack_trace"]
    # the leak: the static list that holds every chunk, and the chunks as a cluster
    big = doc["big_objects"][0]
    assert big["class"] == "java.util.ArrayList" and "OomLeak.LEAKED" in json.dumps(big)
    assert big["retained_bytes"] > 0.8 * 64 * 2**20
    [cluster] = [c for c in doc["class_clusters"] if c["class"] == "OomLeak$Chunk"]
    [expected] = [c for c in local["class_clusters"] if c["class"] == "OomLeak$Chunk"]
    assert cluster["instances"] == expected["instances"] > 1000
    assert cluster["retained_bytes"] == expected["retained_bytes"]
    assert big["retained_bytes"] == local["big_objects"][0]["retained_bytes"]
    assert copy.exists()


def test_a_thread_threshold_dump_shows_the_threads_by_name_and_owner(classes, server,
                                                                     tmp_path):
    spool = tmp_path / "spool"
    run = run_app(classes, spool, "ManyThreads", "60", "4", threads=50)
    assert run.returncode == 0, run.stderr
    dump, sidecar = only_capture(spool)
    assert sidecar["trigger"] == "thread-threshold" and sidecar["threads"] >= 50
    local = local_report(dump)
    row = upload_spool(server, spool)
    assert (row["trigger"], row["oom_cause"]) == ("thread-threshold", "thread-threshold")
    doc = api(server, f"/api/v1/reports/{row['id']}/report")
    assert doc["oom_cause"] is None  # no OutOfMemoryError happened
    assert doc["capture"]["look_first"][0] == "threads"
    assert f"{sidecar['threads']} threads" in doc["capture"]["summary"]
    [workers] = [g for g in doc["threads"] if g["pattern"] == "worker-#"]
    assert workers["count"] >= sidecar["threads"] - 20  # the JVM's own threads are the rest
    assert "ManyThreads$ThreadOwner" in workers["holders"]
    # stripped for the upload, yet the names and owners are the unstripped dump's
    assert doc["threads"] == local["threads"]


def test_a_descriptor_threshold_dump_attributes_the_files_to_their_owner(classes, server,
                                                                        tmp_path):
    spool = tmp_path / "spool"
    run = run_app(classes, spool, "ManyFiles", "215", "4", str(tmp_path),
                  limits="ulimit -n 256")
    assert run.returncode == 0, run.stderr
    dump, sidecar = only_capture(spool)
    assert sidecar["trigger"] == "fd-threshold"
    assert sidecar["fd_limit"] == 256 and sidecar["open_fds"] >= 0.8 * 256
    local = local_report(dump)
    row = upload_spool(server, spool)
    assert (row["trigger"], row["oom_cause"]) == ("fd-threshold", "fd-threshold")
    doc = api(server, f"/api/v1/reports/{row['id']}/report")
    assert doc["capture"]["look_first"][0] == "file_descriptors"
    owners = {g["owner_class"]: g for g in doc["file_descriptors"]["by_owner"]}
    streams = owners["java.io.FileInputStream"]
    assert streams["count"] >= 0.8 * 256 - 40  # the JVM's own jars and pipes are the rest
    held = streams["holders"]  # System.in and the JDK's /dev/urandom pool hold the others
    assert max(held, key=held.get) == "ManyFiles$FileOwner"
    assert held["ManyFiles$FileOwner"] >= streams["count"] - 5
    assert doc["file_descriptors"] == local["file_descriptors"]


def test_a_heap_threshold_dump_says_what_crossed_which_limit(classes, server, tmp_path):
    spool = tmp_path / "spool"
    run = run_app(classes, spool, "HeapHold", "87:5", jvm=("-Xmx128m",), heap="80%")
    assert run.returncode == 0, run.stderr
    assert "never hit OutOfMemoryError" in run.stdout
    _, sidecar = only_capture(spool)
    threshold = sidecar["threshold"]
    assert sidecar["trigger"] == "heap-threshold" and threshold["checks"] == 3
    row = upload_spool(server, spool)
    doc = api(server, f"/api/v1/reports/{row['id']}/report")
    percent = round(100 * threshold["value"] / threshold["max"])
    assert doc["capture"]["summary"].startswith(f"heap {percent}% of ")
    assert doc["capture"]["summary"].endswith("after GC, 3 checks")
    assert row["oom_cause"] == "heap-threshold"


def test_a_jvm_killed_while_dumping_leaves_a_capture_uploaded_as_truncated(classes, server,
                                                                          tmp_path):
    spool = tmp_path / "spool"
    command = java_command(classes, "HeapHold", ["88:60"], spool=spool, jvm_options=("-Xmx1g",),
                           options={"app": "shop", "version": "2.1"})
    jvm = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        partial = []
        while not partial and time.monotonic() < deadline and jvm.poll() is None:
            partial = [p for p in spool.glob("*.partial.hprof") if p.stat().st_size > 20 << 20]
            time.sleep(0.02)
        assert partial, "the agent never started a dump"
        jvm.send_signal(signal.SIGKILL)  # mid-dump: nothing gets to clean up
        jvm.wait(timeout=30)
    finally:
        if jvm.poll() is None:
            jvm.kill()
    assert not list(spool.glob("*.json"))  # never completed
    row = upload_spool(server, spool)
    assert row["trigger"] == "heap-threshold"
    assert row["capture"]["truncated"] is True
    doc = api(server, f"/api/v1/reports/{row['id']}/report")
    assert doc["capture"]["truncated"] is True and doc["dump"]["objects"] > 0
