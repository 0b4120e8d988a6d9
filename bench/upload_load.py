"""Benchmark: 50 concurrent uploads of real dumps to `oomlens serve`, embedded and at scale, side
by side.

    python bench/upload_load.py [--uploads 50] [--analysis-workers 2]   (or: make bench-upload)

The goal (issue 5): 50 clients uploading at once lose nothing and duplicate nothing, and every
upload is analysed. Each client sends one real dump (the gzip-compressed dumps of tests/data, in
turn, each as a new report) twice at the same moment with the same idempotency key (a client
that retried while its first attempt was still under way), so 100 requests race for 50 reports.
Measured per mode:

- uploads/s: reports accepted per second of wall time, from the first request to the last 202
  (each answered after the dump is stored and its row committed);
- ingest latency p50 / p95 / max over the 100 requests (seconds from request to 202);
- seconds until the last report is analysed, and the checks: each client's two answers name one
  report and exactly one says it created it, 50 distinct reports, 50 rows in the database, all
  `done`.

Modes: the embedded default (SQLite file, dumps in a folder, analyses in `oomlens serve`'s own
process pool) and the scale-out configuration (the local PostgreSQL, Celery over the local Redis
with `oomlens worker` processes); the ratio column is scale-out / embedded. Both run the same
number of analyses at once (--analysis-workers) on this 2-core machine, so the scale-out column
measures the cost of the extra hops, not more hardware.

Not a unit test: nothing here asserts a time (it exits non-zero when a check fails). Run it on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from oomlens.server.probe import free_port, wait_until_up

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dominators_vs_visualvm import log  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DUMPS = sorted((ROOT / "tests" / "data").glob("*.hprof.gz"))
OOMLENS = [sys.executable, "-m", "oomlens.cli.main"]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"




class Deployment:
    """An `oomlens serve` (and its `oomlens worker`s, at scale) in a temporary data folder."""

    def __init__(self, data_dir: Path, analysis_workers: int, scale_out: bool):
        self.data_dir, self.scale_out = data_dir, scale_out
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OOMLENS_")}
        self.env["OOMLENS_ANALYSIS_WORKERS"] = str(analysis_workers)
        self.database = None
        if scale_out:
            self.database = f"oomlens_bench_{uuid.uuid4().hex[:10]}"
            self._admin(f'CREATE DATABASE "{self.database}"')
            self.env.update(OOMLENS_DATABASE_URL=f"{PG_ADMIN.rsplit('/', 1)[0]}/{self.database}",
                            OOMLENS_BROKER_URL=REDIS,
                            OOMLENS_BROKER_QUEUE=f"oomlens-bench-{uuid.uuid4().hex[:10]}")
        self.processes: list[subprocess.Popen] = []
        self.keys = self._create_project()

    def _admin(self, statement: str) -> None:
        engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text(statement))
        engine.dispose()

    def _oomlens(self, *args: str) -> list[str]:
        return [*OOMLENS, *args, "--data-dir", str(self.data_dir)]

    def _create_project(self) -> dict:
        out = subprocess.run(self._oomlens("project", "create", "bench"), capture_output=True,
                             text=True, env=self.env, check=True)
        return json.loads(out.stdout)

    def start(self, analysis_workers: int) -> None:
        self._spawn(self._oomlens("serve", "--port", str(self.port)))
        if self.scale_out:
            self._spawn(self._oomlens("worker", "--concurrency", str(analysis_workers)))
        wait_until_up(self.url, self.processes[0])

    def _spawn(self, cmd: list[str]) -> None:
        self.processes.append(subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL,
                                               start_new_session=True))

    def report_rows(self) -> list[tuple[str, str]]:
        url = self.env.get("OOMLENS_DATABASE_URL", f"sqlite:///{self.data_dir / 'oomlens.db'}")
        engine = create_engine(url)
        with engine.connect() as c:
            rows = c.execute(text("select id, status from reports")).all()
        engine.dispose()
        return [tuple(r) for r in rows]

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if self.database:
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def send(d: Deployment, dump: Path, idempotency_key: str) -> tuple[float, str, bool]:
    started = time.perf_counter()
    with open(dump, "rb") as f:
        r = httpx.post(f"{d.url}/api/v1/reports", files={"dump": (dump.name, f)},
                       data={"app_version": "1.0", "device_model": dump.stem},
                       headers={"Authorization": f"Bearer {d.keys['ingest_key']}",
                                "Idempotency-Key": idempotency_key}, timeout=300)
    if r.status_code != 202:
        raise SystemExit(f"upload refused: {r.status_code} {r.text[:300]}")
    return time.perf_counter() - started, r.json()["id"], r.json()["created"]


def run(mode: str, uploads: int, analysis_workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="oomlens-bench-") as tmp:
        d = Deployment(Path(tmp) / "data", analysis_workers, scale_out=mode == "scale-out")
        try:
            d.start(analysis_workers)
            log(f"{mode}: {uploads} clients uploading at once")
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=2 * uploads) as pool:
                sends = [pool.submit(send, d, DUMPS[n % len(DUMPS)], f"bench-{n}")
                         for n in range(uploads) for _ in range(2)]
                answers = [s.result() for s in sends]
            ingest_s = time.perf_counter() - t0
            pairs = [answers[i:i + 2] for i in range(0, len(answers), 2)]
            ids = [a[1] for a, _ in pairs]
            problems = []
            if any(a[1] != b[1] or a[2] == b[2] for a, b in pairs):
                problems.append("a client's two sends were not one report created once")
            if len(set(ids)) != uploads:
                problems.append(f"{len(set(ids))} distinct reports for {uploads} clients")
            deadline = time.monotonic() + 1800
            while time.monotonic() < deadline:
                rows = d.report_rows()
                if all(status in ("done", "failed", "dead") for _, status in rows):
                    break
                time.sleep(0.5)
            analysed_s = time.perf_counter() - t0
            if sorted(r for r, _ in rows) != sorted(ids):
                problems.append(f"{len(rows)} rows in the database for {uploads} reports")
            if {status for _, status in rows} != {"done"}:
                problems.append(f"states {sorted({s for _, s in rows})}")
        finally:
            d.stop()
    latencies = sorted(a[0] for a in answers)
    return {"uploads/s": uploads / ingest_s,
            "ingest p50 (s)": statistics.median(latencies),
            "ingest p95 (s)": latencies[max(0, int(round(0.95 * len(latencies))) - 1)],
            "ingest max (s)": latencies[-1],
            "all analysed after (s)": analysed_s,
            "checks": "; ".join(problems) or "ok"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--analysis-workers", type=int, default=2)
    args = parser.parse_args()
    log(f"dumps: {', '.join(p.name for p in DUMPS)} "
        f"({sum(p.stat().st_size for p in DUMPS) / len(DUMPS) / 1e6:.2f} MB on average)")
    results = {mode: run(mode, args.uploads, args.analysis_workers)
               for mode in ("embedded", "scale-out")}
    embedded, scale = results["embedded"], results["scale-out"]
    print(f"\n{args.uploads} clients each sending its dump twice at once (a retry), "
          f"{args.analysis_workers} analyses at once\n")
    print("| | embedded (SQLite, in-process) | scale-out (PostgreSQL, Celery/Redis) | ratio |")
    print("|---|---|---|---|")
    for name in embedded:
        if name == "checks":
            print(f"| checks | {embedded[name]} | {scale[name]} | |")
        else:
            print(f"| {name} | {embedded[name]:.2f} | {scale[name]:.2f} | "
                  f"{scale[name] / embedded[name]:.2f} |")
    return 0 if embedded["checks"] == scale["checks"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
