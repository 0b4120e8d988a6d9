"""``oomlens watch`` against a real ``oomlens serve``: captures in a spool (real JVM dumps with
their sidecars, laid out as docs/capture.md says the agent writes them) are uploaded once, with
their metadata, and deleted only after the server's 202; nothing is lost or duplicated when the
server is away, when ``watch`` is SIGKILLed mid-upload, or when a capture's writer died.
The agent writing the spool itself is tested in test_agent.py and end to end in
test_capture_e2e.py."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import DATA
from tcp_proxy import TcpProxy
from serverrun import OOMLENS, Server, wait_done
from waiting import wait_for

DUMP = DATA / "openjdk_jdk11_04_x64.hprof.gz"  # written by a real OpenJDK 11


@pytest.fixture(scope="module")
def plain_dump(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dumps") / "openjdk11.hprof"
    with gzip.open(DUMP) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def sidecar(base: str, capture_id: str, captured_at: str = "2026-12-03T10:00:00.000Z",
            **extra) -> dict:
    """A heap-threshold sidecar as the agent writes it (docs/capture.md)."""
    return {"schema": "oomlens.capture/1", "capture_id": capture_id,
            "trigger": "heap-threshold", "reason": "heap 86% of 512 MB after GC, 3 checks",
            "threshold": {"metric": "heap", "value": 461_708_984, "limit": 429_496_729,
                          "max": 536_870_912, "checks": 3, "rule": "sustained"},
            "app": "checkout", "version": "1.4.2", "host": "web-7", "pid": 4711,
            "heap_max_bytes": 536_870_912, "threads": 31, "open_fds": 48, "fd_limit": 1024,
            "captured_at": captured_at, "dump_file": f"{base}.hprof",
            "agent": "oomlens-agent/0.1.0", **extra}


def put_capture(spool: Path, plain: Path, base: str, meta: dict | None, *,
                complete: bool = True, keep_bytes: int | None = None) -> None:
    """Lay out one capture: complete (dump + sidecar), or as a writer that died mid-dump left
    it (the early sidecar in BASE.lock, the dump cut at ``keep_bytes`` as BASE.partial.hprof)."""
    spool.mkdir(parents=True, exist_ok=True)
    if complete:
        shutil.copyfile(plain, spool / f"{base}.hprof")
        if meta is not None:
            (spool / f"{base}.json").write_text(json.dumps(meta))
        return
    (spool / f"{base}.lock").write_text(json.dumps(meta) if meta else "")
    with open(plain, "rb") as src, open(spool / f"{base}.partial.hprof", "wb") as dst:
        dst.write(src.read(keep_bytes))


def watch(spool: Path, url: str, key: str, *args: str, timeout: float = 180):
    return subprocess.run([*OOMLENS, "watch", str(spool), "--server", url, "--key", key, *args],
                          capture_output=True, text=True, timeout=timeout)


def start_watch(spool: Path, url: str, key: str, log: Path, *args: str) -> subprocess.Popen:
    with open(log, "ab") as err:
        return subprocess.Popen([*OOMLENS, "watch", str(spool), "--server", url, "--key", key,
                                 "--interval", "0.2", *args], stdout=subprocess.DEVNULL,
                                stderr=err)


def reports(server: Server, key: str) -> list[dict]:
    r = httpx.get(f"{server.url}/api/v1/reports", headers={"Authorization": f"Bearer {key}"},
                  timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["reports"]


def spool_files(spool: Path) -> list[str]:
    return sorted(p.name for p in spool.iterdir() if not p.name.startswith("."))


def counters(spool: Path) -> dict:
    return json.loads((spool / ".oomlens-watch" / "state.json").read_text())


def test_a_complete_capture_is_uploaded_with_its_metadata_then_deleted(server, tmp_path,
                                                                        plain_dump):
    keys = server.create_project("app")
    server.start()
    spool = tmp_path / "spool"
    base = "checkout-20261203T100000000Z-4711-heap-threshold"
    meta = sidecar(base, "6f1c2a10-0000-4000-8000-000000000001")
    put_capture(spool, plain_dump, base, meta)
    run = watch(spool, server.url, keys["ingest_key"], "--once")
    assert run.returncode == 0, run.stderr
    assert spool_files(spool) == []
    [row] = reports(server, keys["read_key"])
    assert f"uploaded {base}: new report {row['id']}" in run.stderr
    assert (row["app_version"], row["device_model"], row["dump_format"]) == \
        ("1.4.2", "web-7", "packed")
    state = wait_done(server, keys["read_key"], row["id"])
    assert state["status"] == "done", state
    assert counters(spool)["uploaded"] == 1
    # the same capture again (an agent's spool restored from a backup): the server has it
    put_capture(spool, plain_dump, base, meta)
    again = watch(spool, server.url, keys["ingest_key"], "--once")
    assert again.returncode == 0, again.stderr
    assert f"the server had it already as report {row['id']}" in again.stderr
    assert len(reports(server, keys["read_key"])) == 1 and spool_files(spool) == []
    assert counters(spool)["already_uploaded"] == 1


def test_keep_marks_uploaded_captures_and_never_sends_them_again(server, tmp_path, plain_dump):
    keys = server.create_project("app")
    server.start()
    spool = tmp_path / "spool"
    base = "checkout-20261203T100000000Z-4711-heap-threshold"
    put_capture(spool, plain_dump, base, sidecar(base, "keep-1"))
    first = watch(spool, server.url, keys["ingest_key"], "--once", "--keep")
    assert first.returncode == 0, first.stderr
    [row] = reports(server, keys["read_key"])
    assert spool_files(spool) == [f"{base}.hprof", f"{base}.json", f"{base}.uploaded"]
    assert (spool / f"{base}.uploaded").read_text().strip() == row["id"]
    second = watch(spool, server.url, keys["ingest_key"], "--once", "--keep")
    assert second.returncode == 0 and "oomlens watch: uploaded" not in second.stderr
    # without --keep, the marked capture is only removed: the server is not asked again
    third = watch(spool, server.url, keys["ingest_key"], "--once")
    assert third.returncode == 0 and spool_files(spool) == []
    assert len(reports(server, keys["read_key"])) == 1 and counters(spool)["uploaded"] == 1


def test_a_capture_whose_writer_died_is_uploaded_truncated_once_its_lock_is_free(
        server, tmp_path, plain_dump):
    keys = server.create_project("app")
    server.start()
    spool = tmp_path / "spool"
    base = "checkout-20261203T100000000Z-4711-fd-threshold"
    early = {**sidecar(base, "died-1"), "trigger": "fd-threshold",
             "threshold": {"metric": "fds", "value": 820, "limit": 819, "max": 1024}}
    del early["dump_file"]
    put_capture(spool, plain_dump, base, early, complete=False,
                keep_bytes=plain_dump.stat().st_size * 6 // 10)
    # a live process holds the lock, as the agent does while it dumps: not touched
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"f = open({str(spool / (base + '.lock'))!r}, 'r+')\n"
        "fcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(600)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        busy = watch(spool, server.url, keys["ingest_key"], "--once")
        assert busy.returncode == 0, busy.stderr
        assert spool_files(spool) == [f"{base}.lock", f"{base}.partial.hprof"]
        assert reports(server, keys["read_key"]) == []
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the dead process's lock: what it wrote goes up, as truncated
    run = watch(spool, server.url, keys["ingest_key"], "--once")
    assert run.returncode == 0, run.stderr
    assert "(truncated: its process died while dumping)" in run.stderr
    assert spool_files(spool) == []
    [row] = reports(server, keys["read_key"])
    assert row["device_model"] == "web-7"
    assert wait_done(server, keys["read_key"], row["id"])["status"] == "done"
    doc = httpx.get(f"{server.url}/api/v1/reports/{row['id']}/report", timeout=10,
                    headers={"Authorization": f"Bearer {keys['read_key']}"}).json()
    # strip wrote what was complete as a well-formed dump; what is missing shows
    assert doc["dump"]["objects"] > 0
    assert any("holds no GC roots" in w for w in doc["dump"]["warnings"])


def test_a_capture_whose_sidecar_cannot_be_read_is_sent_without_it_and_says_why(
        server, tmp_path, plain_dump):
    keys = server.create_project("app")
    server.start()
    spool = tmp_path / "spool"
    base = "checkout-20261203T100000000Z-4711-heap-threshold"
    put_capture(spool, plain_dump, base, None)
    (spool / f"{base}.json").write_text('{"schema": "oomlens.capture/1", "trigger": "later"}')
    run = watch(spool, server.url, keys["ingest_key"], "--once")
    assert run.returncode == 0, run.stderr
    assert (f"{base}: sent without its sidecar, which cannot be read: "
            f"{spool / (base + '.json')}: trigger must be one of") in run.stderr
    [row] = reports(server, keys["read_key"])
    assert (row["trigger"], row["capture"], row["device_model"]) == ("", None, os.uname().nodename)
    assert spool_files(spool) == []


def test_a_capture_whose_writer_died_before_dumping_is_removed(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    base = "checkout-20261203T100000000Z-4711-oom"
    (spool / f"{base}.lock").write_text("")
    run = watch(spool, "http://127.0.0.1:9", "k", "--once")
    assert run.returncode == 0, run.stderr
    assert f"removed {base}: its process died before the dump was written" in run.stderr
    assert spool_files(spool) == []


def test_the_jvms_own_oom_dump_is_taken_once_it_stopped_changing(server, tmp_path, plain_dump):
    keys = server.create_project("app")
    server.start()
    spool = tmp_path / "spool"
    spool.mkdir()
    shutil.copyfile(plain_dump, spool / "java_pid31337.hprof")  # just written
    young = watch(spool, server.url, keys["ingest_key"], "--once", "--settle", "60")
    assert young.returncode == 0, young.stderr
    assert spool_files(spool) == ["java_pid31337.hprof"]
    past = time.time() - 120  # as if two minutes had gone by since the JVM's last write
    os.utime(spool / "java_pid31337.hprof", (past, past))
    run = watch(spool, server.url, keys["ingest_key"], "--once", "--settle", "60")
    assert run.returncode == 0, run.stderr
    assert spool_files(spool) == []
    [row] = reports(server, keys["read_key"])
    assert row["device_model"] == os.uname().nodename


def test_a_server_that_is_down_gets_the_capture_when_it_comes_back(server, tmp_path,
                                                                   plain_dump):
    keys = server.create_project("app")  # the server is not started yet
    spool = tmp_path / "spool"
    base = "checkout-20261203T100000000Z-4711-heap-threshold"
    put_capture(spool, plain_dump, base, sidecar(base, "down-1"))
    log = tmp_path / "watch.log"
    watcher = start_watch(spool, server.url, keys["ingest_key"], log)
    try:
        wait_for(lambda: "capture(s) waiting" in log.read_text(), 60, "watch saw the server away")
        assert spool_files(spool) == [f"{base}.hprof", f"{base}.json"]
        server.start()
        wait_for(lambda: spool_files(spool) == [], 120, "the capture was uploaded")
    finally:
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=30) == 0  # SIGTERM: a clean stop
    [row] = reports(server, keys["read_key"])
    assert f"uploaded {base}: new report {row['id']}" in log.read_text()


def test_watch_killed_during_an_upload_and_restarted_makes_one_report(server, tmp_path,
                                                                      plain_dump):
    keys = server.create_project("app")
    server.start()
    proxy = TcpProxy(("127.0.0.1", server.port))
    proxy.swallow_answers()  # the server stores the upload; watch never hears its 202
    spool = tmp_path / "spool"
    base = "checkout-20261203T100000000Z-4711-heap-threshold"
    put_capture(spool, plain_dump, base, sidecar(base, "killed-1"))
    log = tmp_path / "watch.log"
    watcher = start_watch(spool, f"http://127.0.0.1:{proxy.port}", keys["ingest_key"], log)
    try:
        [row] = wait_for(lambda: reports(server, keys["read_key"]), 120,
                         "the server got the upload")
        watcher.kill()  # SIGKILL while it waits for the answer
        watcher.wait()
        assert spool_files(spool) == [f"{base}.hprof", f"{base}.json"]  # nothing deleted
        proxy.pass_answers()
        run = watch(spool, f"http://127.0.0.1:{proxy.port}", keys["ingest_key"], "--once")
    finally:
        if watcher.poll() is None:
            watcher.kill()
        proxy.close()
    assert run.returncode == 0, run.stderr
    assert f"the server had it already as report {row['id']}" in run.stderr
    assert spool_files(spool) == [] and len(reports(server, keys["read_key"])) == 1
    assert not list((spool / ".oomlens-watch").glob("*.oomp*"))  # its packed copy is gone too


def test_max_bytes_removes_the_oldest_captures_and_says_so(tmp_path, plain_dump):
    spool = tmp_path / "spool"
    bases = [f"checkout-2026120{d}T100000000Z-4711-heap-threshold" for d in (3, 1, 2)]
    for day, base in zip((3, 1, 2), bases):
        put_capture(spool, plain_dump, base,
                    sidecar(base, f"bound-{day}", captured_at=f"2026-12-0{day}T10:00:00.000Z"))
    one = sum((spool / n).stat().st_size for n in spool_files(spool)) // 3
    run = watch(spool, "http://127.0.0.1:9", "k", "--once", "--retries", "0",
                "--max-bytes", str(one + 100))
    assert run.returncode == 2  # nothing could be uploaded
    assert "1 capture(s) not uploaded" in run.stderr.strip().splitlines()[-1]
    assert spool_files(spool) == [f"{bases[0]}.hprof", f"{bases[0]}.json"]  # the newest
    removed = [line for line in run.stderr.splitlines() if "to keep the spool under" in line]
    assert [line.split("removed ")[1].split(" ")[0] for line in removed] == [bases[1], bases[2]]
    assert counters(spool)["evicted"] == 2


def test_what_the_server_refuses_moves_aside_and_a_wrong_key_keeps_it(server, tmp_path,
                                                                      plain_dump):
    keys = server.create_project("app")
    server.start()
    spool = tmp_path / "spool"
    good = "checkout-20261203T100000000Z-4711-heap-threshold"
    bad = "checkout-20261202T100000000Z-4711-oom"
    put_capture(spool, plain_dump, good, sidecar(good, "key-1"))
    (spool / f"{bad}.hprof").write_text("these are not the bytes of a heap dump\n")
    (spool / f"{bad}.json").write_text(json.dumps({**sidecar(bad, "bad-1"), "trigger": "oom"}))
    wrong = watch(spool, server.url, "oomlens_ingest_wrong", "--once")
    assert wrong.returncode == 2
    assert "check --key" in wrong.stderr
    # the unreadable dump went aside with its reason; the good one waits for a key that works
    assert spool_files(spool) == [f"{good}.hprof", f"{good}.json", "rejected"]
    reason = (spool / "rejected" / f"{bad}.reason").read_text()
    assert reason.startswith("not a dump oomlens can read: ")
    assert sorted(p.name for p in (spool / "rejected").iterdir()) == \
        [f"{bad}.hprof", f"{bad}.json", f"{bad}.reason"]
    right = watch(spool, server.url, keys["ingest_key"], "--once")
    assert right.returncode == 0, right.stderr
    assert spool_files(spool) == ["rejected"] and len(reports(server, keys["read_key"])) == 1
    assert counters(spool)["rejected"] == 1


@pytest.mark.parametrize("args, message", [
    (["--server", "127.0.0.1:8270"], "expected a URL like http://host:8270"),
    (["--max-bytes", "lots"], "is not a size like 500M"),
    (["--level", "arrays", "--keep-thread-names"], "thread names can only be kept at level"),
])
def test_bad_usage_is_one_line(tmp_path, args, message):
    spool = tmp_path / "spool"
    spool.mkdir()
    given = dict(zip(args[::2], args[1::2])) if len(args) % 2 == 0 else {}
    defaults = [x for kv in {"--server": "http://127.0.0.1:9", "--key": "k"}.items()
                if kv[0] not in given for x in kv]
    run = subprocess.run([*OOMLENS, "watch", str(spool), "--once", *defaults, *args],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and message in run.stderr


def test_a_missing_spool_is_one_line(tmp_path):
    run = subprocess.run([*OOMLENS, "watch", str(tmp_path / "nope"), "--once", "--server",
                          "http://127.0.0.1:9", "--key", "k"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "no such folder" in run.stderr

