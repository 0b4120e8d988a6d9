"""Job folders under the scratch root (server/core/scratch.py): a process killed with SIGKILL
cannot remove the decompressed dump of its analysis, so a starting server or worker sweeps away
every folder no live process holds the lock of, and never one that a live one does (in this
process or another, as when two workers share a root). End to end: a real `oomlens serve` and a
real `oomlens worker` SIGKILLed mid-analysis leave the dump copy on disk, a restart removes it,
the report is analysed again, and nothing of oomlens goes to the system temp folder."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hprof_builder import HprofBuilder, minimal_heap
from oomlens.hprof import constants as C
from oomlens.server.core import scratch
from oomlens.server.core.config import ServerSettings
from oomlens.server.jobs import sandbox
from serverrun import upload, wait_done
from test_server_celery import broker_url, celery_server, database_url  # noqa: F401 (fixtures)
from waiting import wait_for

ZEROS_MB = 200  # the decompressed dump: big enough to catch its analysis while it runs

HOLD = """
import sys, time
from pathlib import Path
from oomlens.server.core.scratch import JobFolder
folder = JobFolder(Path(sys.argv[1]), "job")
(folder.path / "dump.hprof").write_bytes(bytes(1000))
print(folder.path, flush=True)
time.sleep(600)
"""


def holder(root: Path) -> tuple[subprocess.Popen, Path]:
    """Another process that holds a job folder of ``root`` until it is killed."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE,
                               text=True)
    return process, Path(process.stdout.readline().strip())


def left_on_disk(root: Path) -> tuple[int, int]:
    """Files under ``root`` and their bytes."""
    files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


def test_a_live_processs_folder_survives_a_sweep_and_a_killed_ones_does_not(tmp_path):
    root = tmp_path / "scratch"
    process, folder = holder(root)
    try:
        assert scratch.sweep(root) == 0
        assert (folder / "dump.hprof").stat().st_size == 1000
    finally:
        process.kill()  # SIGKILL: nothing gets to clean up
        process.wait()
    assert left_on_disk(root) == (2, 1000)  # the dump copy, and the lock file beside it
    assert scratch.sweep(root) == 1
    assert not folder.exists() and list(root.iterdir()) == []


def test_a_folder_of_this_process_survives_its_own_sweep(tmp_path):
    # flock, not fcntl locks: those are per process and would let this sweep take it
    root = tmp_path / "scratch"
    with scratch.JobFolder(root, "download") as folder:
        (folder / "restored.hprof").write_bytes(b"x")
        assert scratch.sweep(root) == 0
        assert (folder / "restored.hprof").exists()
    assert list(root.iterdir()) == []  # its owner removed it, lock and all


def test_names_scratch_does_not_make_are_left_alone(tmp_path):
    # a root pointed by mistake at a folder others use loses nothing that is not ours
    root = tmp_path / "scratch"
    others = [root / "notes.txt", root / "oomlens-job-abc" / "dump.hprof",
              root / "job-not-hex-at-all" / "x", root / "Job-0123456789abcdef" / "x",
              root / "job-0123456789abcdef.lock.bak"]
    for path in others:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("someone else's")
    assert scratch.sweep(root) == 0
    assert all(path.exists() for path in others)


def test_half_swept_leftovers_are_removed(tmp_path):
    # a sweep killed between removing a folder and its lock, or between a lock and its folder
    root = tmp_path / "scratch"
    (root / "job-00000000000000aa").mkdir(parents=True)  # its lock file gone
    (root / "job-00000000000000aa" / "dump.hprof").write_bytes(b"x")
    (root / "job-00000000000000bb.lock").write_bytes(b"")  # its folder gone
    assert scratch.sweep(root) == 1
    assert list(root.iterdir()) == []
    assert scratch.sweep(tmp_path / "never-made") == 0


def test_an_analysis_killed_at_its_time_limit_is_swept_at_once(tmp_path, monkeypatch):
    # the runner or worker lives on: what the child left must not wait for the next start
    settings = ServerSettings.from_env({"OOMLENS_ANALYSIS_TIME_LIMIT_S": "1"},
                                       data_dir=str(tmp_path / "data"))
    started = subprocess.Popen

    def holding_job(_args, **options):  # the analysis: a job that holds its folder forever
        options["stdout"] = subprocess.PIPE
        return started([sys.executable, "-c", HOLD, str(settings.scratch_dir)], **options)

    monkeypatch.setattr(sandbox.subprocess, "Popen", holding_job)
    analysis = sandbox.AnalysisProcess(settings, "report")
    folder = Path(analysis._process.stdout.readline().decode().strip())
    assert (folder / "dump.hprof").exists()
    outcome = wait_for(analysis.finished, 10, "the time limit")
    assert outcome == (False, "took longer than 1 s")
    assert not folder.exists() and list(settings.scratch_dir.iterdir()) == []


CHURN = """
import sys, time
from pathlib import Path
from oomlens.server.core.scratch import JobFolder, sweep
root, role = Path(sys.argv[1]), sys.argv[2]
end = time.monotonic() + 2
while time.monotonic() < end:
    if role == "sweep":
        sweep(root)
        continue
    folder = JobFolder(root, "job")
    (folder.path / "dump.hprof").write_bytes(b"x")
    if not (folder.path / "dump.hprof").exists():
        sys.exit("a live folder was swept")
    folder.remove()
"""


def test_sweeps_running_beside_live_jobs_in_other_processes_take_none_of_theirs(tmp_path):
    root = tmp_path / "scratch"
    root.mkdir()
    roles = ["job", "job", "sweep", "sweep"]
    processes = [subprocess.Popen([sys.executable, "-c", CHURN, str(root), role],
                                  stderr=subprocess.PIPE, text=True) for role in roles]
    failures = [p.communicate(timeout=60)[1] for p in processes if p.wait(timeout=60)]
    assert failures == []
    assert list(root.iterdir()) == []


def zero_filled_dump(path: Path, megabytes: int) -> None:
    """A valid gzip-compressed HPROF holding one byte[] of ``megabytes`` MB of zeros (a few
    hundred KB compressed, but that much to write while decompressing, as a real dump)."""
    b = HprofBuilder()
    small = minimal_heap(b)
    b.heap_dump(*small)
    size = megabytes << 20
    array = b.primitive_array(0x5000, C.TYPE_BYTE, b"", length=size)
    root = b.root(C.ROOT_JNI_GLOBAL, 0x5000)
    segment = struct.pack(">BII", C.TAG_HEAP_DUMP_SEGMENT, 0, len(array) + size + len(root))
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(b.bytes() + segment + array)
        chunk = bytes(1 << 20)
        for _ in range(megabytes):
            out.write(chunk)
        out.write(root)
        out.write(struct.pack(">BII", C.TAG_HEAP_DUMP_END, 0, 0))


@pytest.fixture(scope="module")
def big_dump(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "zeros.hprof.gz"
    zero_filled_dump(path, ZEROS_MB)
    assert path.stat().st_size < 2 << 20  # compresses well: uploads in no time
    return path


def analysis_in_progress(root: Path) -> Path:
    """The dump copy of the analysis running under ``root``, once it has 32 MB of its 200."""
    def growing():
        for dump in root.glob("job-*/dump.hprof"):
            try:
                if dump.stat().st_size >= 32 << 20:
                    return dump
            except FileNotFoundError:
                pass  # that job just ended
        return None
    return wait_for(growing, 120, "an analysis writing its dump copy", every=0.005)


def oomlens_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "oomlens" in p.name)


def test_a_server_killed_mid_analysis_leaves_a_dump_copy_the_restart_removes(server, big_dump,
                                                                            tmp_path):
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    server.env["TMPDIR"] = str(system_temp)
    root = server.data_dir / "scratch"
    keys = server.create_project("app")
    server.start()
    report_id = upload(server, keys["ingest_key"], path=big_dump).json()["id"]
    copy = analysis_in_progress(root)
    server.kill()  # SIGKILL, the analysis child with it
    files, size = left_on_disk(root)
    dead = {copy.parent.name, f"{copy.parent.name}.lock"}
    print(f"left after SIGKILL: {files} files, {size:,} bytes")
    assert files == 2 and size >= 32 << 20 and dead <= {p.name for p in root.iterdir()}
    assert oomlens_in(system_temp) == []
    server.start()  # sweeps before it answers
    assert not dead & {p.name for p in root.iterdir()}
    assert "removed 1 job folder(s)" in (server.data_dir.parent / "server.log").read_text()
    state = wait_done(server, keys["read_key"], report_id)
    assert state["status"] == "done" and state["attempts"] == 2, state
    wait_for(lambda: left_on_disk(root) == (0, 0), 10, "the finished job removing its folder")
    print(f"left after the restart and the analysis: {left_on_disk(root)}")
    # a download is made there too, and removed once sent
    answer = httpx.get(f"{server.url}/api/v1/reports/{report_id}/dump?format=gzip", timeout=120,
                       headers={"Authorization": f"Bearer {keys['read_key']}"})
    assert answer.status_code == 200 and answer.content[:2] == b"\x1f\x8b"
    wait_for(lambda: left_on_disk(root) == (0, 0), 10, "the download's folder removed")
    assert oomlens_in(system_temp) == []


def test_a_worker_killed_mid_analysis_leaves_a_dump_copy_the_next_worker_removes(
        celery_server, big_dump, tmp_path):  # noqa: F811
    server, workers = celery_server
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    server.env["TMPDIR"] = str(system_temp)  # the workers' environment too
    root = server.data_dir / "scratch"  # shared by the server and its workers on this host
    keys = server.create_project("app")
    server.start()
    first = workers.start()
    report_id = upload(server, keys["ingest_key"], path=big_dump).json()["id"]
    copy = analysis_in_progress(root)
    workers.kill(first)  # its pool and the analysis child too
    files, size = left_on_disk(root)
    dead = {copy.parent.name, f"{copy.parent.name}.lock"}
    print(f"left after SIGKILL: {files} files, {size:,} bytes")
    assert files == 2 and size >= 32 << 20 and dead <= {p.name for p in root.iterdir()}
    workers.start()  # sweeps as it starts, before its pool takes a task
    wait_for(lambda: not dead & {p.name for p in root.iterdir()}, 60,
             "the new worker removing the killed one's folder")
    state = wait_done(server, keys["read_key"], report_id, timeout=300)
    assert state["status"] == "done" and state["attempts"] == 2, state
    wait_for(lambda: left_on_disk(root) == (0, 0), 10, "the finished job removing its folder")
    assert oomlens_in(system_temp) == []


def test_a_restarted_server_removes_uploads_a_killed_writer_left_unfinished(server):
    """A server killed mid-upload leaves ``KEY.UUID.partial`` in the dump store; the next start
    removes those untouched for an hour (a live writer on another server writes continuously)
    and keeps a fresh one and every finished dump."""
    import os
    import time

    keys = server.create_project("app")
    server.start()
    report_id = upload(server, keys["ingest_key"]).json()["id"]
    assert wait_done(server, keys["read_key"], report_id)["status"] == "done"
    server.kill()
    dumps = server.data_dir / "dumps"
    finished = sorted(p for p in dumps.rglob("*") if p.is_file())
    assert finished
    stale = finished[0].with_name(finished[0].name + ".0123abcd.partial")
    fresh = finished[0].with_name(finished[0].name + ".4567cdef.partial")
    for path in (stale, fresh):
        path.write_bytes(b"JAVA PROFILE 1.0.2\0" + bytes(1 << 20))
    hour_ago = time.time() - 3700
    os.utime(stale, (hour_ago, hour_ago))
    server.start()
    assert not stale.exists() and fresh.exists()
    assert all(p.exists() for p in finished)
    assert "removed 1 unfinished upload(s)" in (server.data_dir.parent / "server.log").read_text()
