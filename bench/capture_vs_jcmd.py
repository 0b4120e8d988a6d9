"""Benchmark: a ~1 GB heap from the JVM to the server, the agent and `oomlens watch` against
`jcmd GC.heap_dump`, `gzip` and `curl`, side by side.

    python bench/capture_vs_jcmd.py [--heap-mb 1000] [--repeat 2]      (or: make bench-capture)

Both sides start the same program (bench/java/BigHeap.java: a session store of ~1.6 M sessions,
~13 M objects, about --heap-mb of live heap, -Xmx at 1.4 times that) and send its dump to a real
`oomlens serve` (SQLite, with a Redis broker and no `oomlens worker`: the analyses wait in the
queue instead of competing for the 2 cores; `make bench-capture` starts Redis):

- reference: `jcmd PID GC.heap_dump -all FILE` (every object, as the agent dumps), `gzip FILE`
  (level 6, what people type), `curl -F dump=@FILE.gz .../api/v1/reports`;
- oomlens: the agent in the JVM (`threads=N`, which BigHeap crosses on purpose once its heap is
  built: a threshold dump at a known moment; `heap=off`), its dump time from the sidecar
  (`dump_millis`), then `oomlens watch SPOOL --once` (strip --level strings, pack, upload).

Each step is a fresh process, timed by wall clock, with its peak RSS (`ru_maxrss`); the table
gives medians of --repeat runs. MB = 10^6 bytes. The dump itself lands in the page cache on
both sides (24 GB of RAM), so the dump rows measure the JVM's writing, not the disk.

Not a unit test: nothing here asserts a time. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from oomlens.capture.agent_jar import agent_jar
from oomlens.server.probe import free_port, wait_until_up

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
OOMLENS = str(BIN / "oomlens")
IDLE_THREADS = 40  # BigHeap starts these once ready; the agent's threshold is below
BROKER = "redis://127.0.0.1:6379/0"
QUEUE = "oomlens-bench-capture"  # emptied at the end


def run(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall s, peak RSS MB, stdout) of CMD as a fresh process (rusage of that child only)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise RuntimeError(f"{' '.join(cmd[:3])} failed ({code}): {err.read()[-2000:]}")
        return wall, usage.ru_maxrss * 1024 / 1e6, out.read().decode()


class Server:
    """`oomlens serve` on a fresh data folder, analyses left in a broker queue no worker reads;
    a project and its keys."""

    def __init__(self, work: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "OOMLENS_BROKER_URL": BROKER, "OOMLENS_BROKER_QUEUE": QUEUE,
               "OOMLENS_MAX_UPLOAD_MB": "8192", "OOMLENS_MAX_HPROF_MB": "16384"}
        data = work / "server-data"
        keys = subprocess.run([OOMLENS, "project", "create", "bench", "--data-dir", str(data)],
                              capture_output=True, text=True, check=True, env=env)
        self.key = json.loads(keys.stdout)["ingest_key"]
        self.read_key = json.loads(keys.stdout)["read_key"]
        self.process = subprocess.Popen([OOMLENS, "serve", "--port", str(self.port),
                                         "--data-dir", str(data)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_up(self.url, self.process)

    def report_bytes(self, report_id: str) -> int:
        r = httpx.get(f"{self.url}/api/v1/reports/{report_id}", timeout=30,
                      headers={"Authorization": f"Bearer {self.read_key}"})
        return r.json()["dump_bytes"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)
        import redis

        redis.Redis.from_url(BROKER).delete(QUEUE)


def start_big_heap(classes: Path, heap_mb: int, agent: str | None) -> subprocess.Popen:
    """BigHeap, returned once it printed that its heap is built."""
    xmx = f"-Xmx{int(heap_mb * 1.4)}m"
    cmd = ["java", xmx, *([agent] if agent else []), "-cp", str(classes), "BigHeap",
           str(heap_mb), str(IDLE_THREADS)]
    jvm = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = jvm.stdout.readline()
    if not line.startswith("ready"):
        jvm.kill()
        raise RuntimeError(f"BigHeap did not start: {line!r}")
    return jvm


def reference_run(classes: Path, work: Path, server: Server, heap_mb: int, i: int) -> dict:
    dump = work / "reference.hprof"
    jvm = start_big_heap(classes, heap_mb, None)
    try:
        dump_s, dump_rss, _ = run(["jcmd", str(jvm.pid), "GC.heap_dump", "-all", str(dump)])
    finally:
        jvm.kill()
        jvm.wait()
    hprof_bytes = dump.stat().st_size
    gzip_s, gzip_rss, _ = run(["gzip", "-f", str(dump)])
    gz = Path(f"{dump}.gz")
    curl_s, curl_rss, out = run(["curl", "-sS", "-f", "-H", f"Authorization: Bearer {server.key}",
                                 "-H", f"Idempotency-Key: reference-{i}-{time.time()}", "-F",
                                 f"dump=@{gz}", f"{server.url}/api/v1/reports"])
    sent = gz.stat().st_size
    gz.unlink()
    json.loads(out)
    return {"dump": dump_s, "compress": gzip_s, "upload": curl_s, "hprof": hprof_bytes,
            "sent": sent, "client_rss": max(gzip_rss, curl_rss), "dump_rss": dump_rss}


def oomlens_run(classes: Path, work: Path, server: Server, heap_mb: int) -> dict:
    spool = work / "spool"
    shutil.rmtree(spool, ignore_errors=True)
    agent = (f"-javaagent:{agent_jar()}=spool={spool},app=bench,interval=200ms,heap=off,"
             f"threads={IDLE_THREADS},fds=off")
    jvm = start_big_heap(classes, heap_mb, agent)
    try:
        deadline = time.monotonic() + 300
        while not list(spool.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        jvm.kill()
        jvm.wait()
    [sidecar_file] = spool.glob("*.json")
    sidecar = json.loads(sidecar_file.read_text())
    copy = work / "agent-copy.hprof"
    os.link(spool / sidecar["dump_file"], copy)  # for the strip-alone row; watch deletes its own
    watch_s, watch_rss, _ = run([OOMLENS, "watch", str(spool), "--once", "--server",
                                 server.url, "--key", server.key])
    # strip alone, after the upload: the same pages, now read from the cache by both
    strip_s, strip_rss, _ = run([OOMLENS, "strip", "--no-progress", str(copy),
                                 str(work / "alone.oomp")])
    copy.unlink()
    (work / "alone.oomp").unlink()
    reports = httpx.get(f"{server.url}/api/v1/reports", timeout=30,
                        headers={"Authorization": f"Bearer {server.read_key}"}).json()["reports"]
    return {"dump": sidecar["dump_millis"] / 1000, "strip": strip_s, "watch": watch_s,
            "hprof": sidecar["dump_bytes"], "sent": server.report_bytes(reports[0]["id"]),
            "client_rss": max(watch_rss, strip_rss)}


def med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def table(ref: list[dict], ours: list[dict], heap_mb: int, repeat: int) -> str:
    ref_total = med(ref, "dump") + med(ref, "compress") + med(ref, "upload")
    our_total = med(ours, "dump") + med(ours, "watch")
    rows = [
        ("dump written (s)", f"{med(ref, 'dump'):.2f} (jcmd GC.heap_dump -all)",
         f"{med(ours, 'dump'):.2f} (agent, dumpHeap)", med(ours, "dump") / med(ref, "dump")),
        ("compress (s)", f"{med(ref, 'compress'):.2f} (gzip)",
         f"{med(ours, 'strip'):.2f} (strip + pack, alone, cached)",
         med(ours, "strip") / med(ref, "compress")),
        ("upload (s)", f"{med(ref, 'upload'):.2f} (curl)", "in watch", None),
        ("compress + upload (s)", f"{med(ref, 'compress') + med(ref, 'upload'):.2f}",
         f"{med(ours, 'watch'):.2f} (oomlens watch --once)",
         med(ours, "watch") / (med(ref, "compress") + med(ref, "upload"))),
        ("dump to the server has it (s)", f"{ref_total:.2f}", f"{our_total:.2f}",
         our_total / ref_total),
        ("HPROF (MB)", f"{med(ref, 'hprof') / 1e6:,.0f}", f"{med(ours, 'hprof') / 1e6:,.0f}",
         med(ours, "hprof") / med(ref, "hprof")),
        ("bytes sent (MB)", f"{med(ref, 'sent') / 1e6:,.1f} (gzip, every string included)",
         f"{med(ours, 'sent') / 1e6:,.1f} (packed, strings stripped)",
         med(ours, "sent") / med(ref, "sent")),
        ("client peak RSS (MB)", f"{med(ref, 'client_rss'):.0f} (gzip, curl)",
         f"{med(ours, 'client_rss'):.0f} (watch, strip)",
         med(ours, "client_rss") / med(ref, "client_rss")),
    ]
    lines = [f"BigHeap with ~{heap_mb} MB of live heap, medians of {repeat}; "
             f"{platform.machine()}, {java_version()}", "",
             "| step | jcmd + gzip + curl | agent + oomlens watch | ratio |", "|---|--:|--:|--:|"]
    lines += [f"| {name} | {a} | {b} | {'' if r is None else f'{r:.2f}'} |"
              for name, a, b, r in rows]
    return "\n".join(lines)


def java_version() -> str:
    out = subprocess.run(["java", "-version"], capture_output=True, text=True)
    return out.stderr.splitlines()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heap-mb", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    (BENCH / "dumps").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BENCH / "dumps") as tmp:  # git-ignored, on the disk
        work = Path(tmp)
        classes = work / "classes"
        subprocess.run(["javac", "-d", str(classes), str(BENCH / "java" / "BigHeap.java")],
                       check=True)
        server = Server(work)
        ref, ours = [], []
        try:
            for i in range(args.repeat):
                ref.append(reference_run(classes, work, server, args.heap_mb, i))
                print(f"reference {i + 1}: {ref[-1]}", file=sys.stderr)
                ours.append(oomlens_run(classes, work, server, args.heap_mb))
                print(f"oomlens {i + 1}: {ours[-1]}", file=sys.stderr)
        finally:
            server.stop()
    text = table(ref, ours, args.heap_mb, args.repeat)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "capture_vs_jcmd.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
