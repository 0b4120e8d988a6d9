"""Benchmark: `oomlens dominators DUMP --top 20` against VisualVM's heap library, side by side.

    python bench/dominators_vs_visualvm.py [--sizes 50,250,500] [--repeat 3] [--skip-visualvm]
                                           [--no-phases]

(`make bench` runs it with the project's virtual environment.) For each size it makes (once; they
are kept in bench/dumps/, which git ignores) a real java.lang.OutOfMemoryError heap dump with
bench/make_big_dump.sh, then runs

  * VisualVM's heap library (bench/VisualVMDominators.java: every retained size, then the 20
    biggest objects) with -Xmx1g, or -Xmx2g / -Xmx3g when the smaller heap is not enough. Every run
    is cold: the dump is opened through a symlink in a fresh directory, so the `.hwcache` folder the
    library writes (and would reuse) is new each time;
  * `oomlens dominators DUMP --top 20` with a warm Numba cache (one unmeasured run first fills it);

each --repeat times, and reports the medians of wall time and of peak RSS (ru_maxrss of the child,
from os.wait4: the child and the processes it waited for). Then it measures oomlens' cold first run
(NUMBA_CACHE_DIR set to an empty directory, so Numba compiles every kernel again) on the smallest
dump. The table goes to stdout and to bench/results/latest.md (git ignores bench/results/).

Not a unit test: nothing here asserts a time. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DUMPS = BENCH / "dumps"
RESULTS = BENCH / "results"
# The warm runs' Numba cache: our own, so that the benchmark neither depends on nor rewrites the
# caches in src/ (and a warm-up run fills it).
WARM_CACHE = DUMPS / "numba-cache"
BIN = Path(sys.executable).parent
OOMLENS = str(BIN / "oomlens") if (BIN / "oomlens").exists() else shutil.which("oomlens")

# Extra Debian packages of Java libraries for ProGuard to process. With only what proguard-cli and
# visualvm bring, ProGuard finishes (and does not run out of memory) with 250m of heap or more, so
# the biggest OOM dump make_big_dump.sh can write is ~380 MB; these ~16 MB of extra jars let it run
# out of memory up to ~340m, which gives the ~500 MB (10 M object) dump. They are installed before
# any dump is made, so that all sizes come from the same ProGuard input.
EXTRA_JAVA_PACKAGES = ["libbcprov-java", "libxalan2-java", "libecj-java"]


@dataclass(frozen=True)
class Size:
    label: str     # nominal dump size in MB
    max_heap: str  # make_big_dump.sh's MAX_HEAP


# MAX_HEAP values found by trying (the size of a dump varies by a few % between runs).
SIZES = {s.label: s for s in (Size("50", "32m"), Size("250", "160m"), Size("500", "320m"))}
VISUALVM_HEAPS = ("1g", "2g", "3g")


@dataclass
class Run:
    wall_s: float
    rss_mb: float
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Row:
    size: Size
    dump: Path
    dump_mb: float
    objects: int
    vv_heap: str | None = None
    vv_note: str = ""
    vv: list[Run] = field(default_factory=list)
    ol: list[Run] = field(default_factory=list)
    vv_phases: list[str] = field(default_factory=list)
    phases: dict | None = None


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def measure(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> Run:
    """Runs cmd to completion; wall time and peak RSS (MB, 10^6 bytes) of it and its children."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                             cwd=cwd)
        _, status, rusage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # Linux reports ru_maxrss in KiB
        return Run(wall, rusage.ru_maxrss * 1024 / 1e6, p.returncode, out.read(), err.read())


# -- dumps -----------------------------------------------------------------------------------------
def ensure_extra_packages() -> None:
    missing = [p for p in EXTRA_JAVA_PACKAGES
               if "install ok installed" not in subprocess.run(
                   ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout]
    if not missing:
        return
    log(f"installing Debian packages of Java libraries for ProGuard to process: {' '.join(missing)}")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                   check=True, env=env, stdout=subprocess.DEVNULL)


def ensure_dump(size: Size) -> Path:
    dump = DUMPS / f"proguard_oom_{size.max_heap}.hprof"
    if dump.exists() and dump.stat().st_size > 0:
        return dump
    ensure_extra_packages()
    DUMPS.mkdir(parents=True, exist_ok=True)
    log(f"making {dump.name} (MAX_HEAP {size.max_heap}, ~{size.label} MB)")
    r = subprocess.run([str(BENCH / "make_big_dump.sh"), str(dump), size.max_heap],
                       capture_output=True, text=True)
    if r.returncode != 0 or not dump.exists():
        sys.exit(f"make_big_dump.sh failed for MAX_HEAP {size.max_heap}:\n{r.stdout}{r.stderr}")
    return dump


def object_count(dump: Path) -> int:
    WARM_CACHE.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([OOMLENS, "info", "--json", "--no-progress", str(dump)],
                       capture_output=True, text=True, check=True, env=oomlens_env(WARM_CACHE))
    return int(json.loads(r.stdout)["objects"])


# -- VisualVM --------------------------------------------------------------------------------------
def visualvm_jar() -> str:
    jars = sorted(glob.glob("/usr/share/visualvm/**/org-graalvm-visualvm-lib-jfluid-heap*.jar",
                            recursive=True))
    if not jars:
        sys.exit("VisualVM's heap library is missing: bench/make_big_dump.sh installs it "
                 "(Debian package visualvm)")
    return jars[0]


def compile_visualvm(jar: str, classes: Path) -> str:
    subprocess.run(["javac", "-nowarn", "-cp", jar, "-d", str(classes),
                    str(BENCH / "VisualVMDominators.java")], check=True)
    return f"{jar}{os.pathsep}{classes}"


def run_visualvm(classpath: str, dump: Path, heap: str) -> Run:
    """One cold run: a fresh directory with a symlink to the dump, so a new .hwcache each time."""
    with tempfile.TemporaryDirectory(prefix="vvbench-") as d:
        link = Path(d) / dump.name
        link.symlink_to(dump)
        return measure(["java", f"-Xmx{heap}", "-cp", classpath, "VisualVMDominators",
                        str(link), "20"])


def is_out_of_memory(r: Run) -> bool:
    return r.returncode != 0 and "OutOfMemoryError" in r.stderr + r.stdout


def visualvm_runs(classpath: str, row: Row, repeat: int) -> None:
    for heap in VISUALVM_HEAPS:
        log(f"VisualVM -Xmx{heap} on {row.dump.name}")
        r = run_visualvm(classpath, row.dump, heap)
        if is_out_of_memory(r):
            row.vv_note += f"-Xmx{heap}: OutOfMemoryError after {r.wall_s:.0f} s; "
            log(f"  OutOfMemoryError with -Xmx{heap} after {r.wall_s:.1f} s")
            continue
        if r.returncode != 0:
            sys.exit(f"VisualVM run failed ({r.returncode}):\n{r.stderr[-3000:]}")
        row.vv_heap = heap
        row.vv.append(r)
        break
    else:
        row.vv_note += "no heap of " + "/".join(VISUALVM_HEAPS) + " was enough"
        return
    for _ in range(repeat - 1):
        r = run_visualvm(classpath, row.dump, row.vv_heap)
        if r.returncode != 0:
            sys.exit(f"VisualVM run failed ({r.returncode}):\n{r.stderr[-3000:]}")
        row.vv.append(r)
    for r in row.vv:
        log(f"  VisualVM {r.wall_s:.2f} s, {r.rss_mb:.0f} MB")
        row.vv_phases += [line for line in r.stdout.splitlines() if line.startswith("phases_ms")]


# -- oomlens ---------------------------------------------------------------------------------------
def oomlens_env(cache_dir: Path) -> dict:
    return dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))


def run_oomlens(dump: Path, cache_dir: Path) -> Run:
    r = measure([OOMLENS, "dominators", "--no-progress", "--top", "20", str(dump)],
                env=oomlens_env(cache_dir))
    if r.returncode != 0:
        sys.exit(f"oomlens failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r


def oomlens_runs(row: Row, repeat: int) -> None:
    WARM_CACHE.mkdir(parents=True, exist_ok=True)
    log(f"oomlens warm-up on {row.dump.name}")
    run_oomlens(row.dump, WARM_CACHE)
    for _ in range(repeat):
        r = run_oomlens(row.dump, WARM_CACHE)
        log(f"  oomlens {r.wall_s:.2f} s, {r.rss_mb:.0f} MB")
        row.ol.append(r)


def oomlens_phases(row: Row) -> None:
    r = subprocess.run([sys.executable, str(BENCH / "oomlens_phases.py"), "--json",
                        str(row.dump)], capture_output=True, text=True,
                       env=oomlens_env(WARM_CACHE))
    if r.returncode == 0:
        row.phases = json.loads(r.stdout.strip().splitlines()[-1])
    else:
        log(f"phase breakdown failed: {r.stderr[-500:]}")


def cold_run(dump: Path) -> tuple[Run, int]:
    """oomlens with an empty Numba cache; also returns how many cache index files it wrote
    (each compiled kernel writes one: the evidence that it did compile)."""
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as d:
        r = run_oomlens(dump, Path(d))
        written = sum(1 for _ in Path(d).rglob("*.nbi"))
    return r, written


# -- report ----------------------------------------------------------------------------------------
def sizes_and_repeat(description: str) -> argparse.Namespace:
    """The options of the benchmarks that time oomlens commands side by side (--sizes,
    --repeat), parsed; also makes sure the Numba cache folder they share exists."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--sizes", default="250", help="comma-separated: " + ", ".join(SIZES))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    WARM_CACHE.mkdir(parents=True, exist_ok=True)
    return args


def med(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def spread(runs: list[Run], attr: str, fmt: str) -> str:
    values = sorted(getattr(r, attr) for r in runs)
    return ", ".join(format(v, fmt) for v in values)


def fmt(v: float | None, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def report(rows: list[Row], cold: tuple[Run, int, Row] | None, args, started: str) -> str:
    lines = []
    git = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
                           capture_output=True, text=True).stdout.strip()
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines.append("# oomlens dominators vs VisualVM's heap library\n")
    lines.append(f"{started}; {os.cpu_count()} cores, {mem_gb:.0f} GiB, {platform.platform()}; "
                 f"{java.splitlines()[0] if java else 'java ?'}; Python {platform.python_version()}; "
                 f"oomlens at `{git}`{' (src/ has uncommitted changes)' if dirty else ''}; "
                 f"median of {args.repeat} run{'s' if args.repeat > 1 else ''}.\n")
    lines.append("| dump MB | objects | VisualVM heap | VisualVM s | VisualVM peak RSS MB "
                 "| oomlens s | oomlens peak RSS MB | time ratio (oomlens/VisualVM) | RSS ratio "
                 "| oomlens s per 100 MB | oomlens RSS MB per dump MB | VisualVM s per 100 MB "
                 "| goals (time ≤ 0.2, RSS ≤ 0.5) |")
    lines.append("|--:|--:|:-:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|")
    for row in rows:
        vs = med(row.vv, "wall_s") if row.vv else None
        vm = med(row.vv, "rss_mb") if row.vv else None
        os_ = med(row.ol, "wall_s")
        om = med(row.ol, "rss_mb")
        tr = os_ / vs if vs else None
        rr = om / vm if vm else None
        if tr is None:
            goals = "–"
        else:
            goals = " ".join(["time " + ("✓" if tr <= 0.2 else "✗"),
                              "RSS " + ("✓" if rr <= 0.5 else "✗")])
        heap = f"-Xmx{row.vv_heap}" if row.vv_heap else ("skipped" if args.skip_visualvm
                                                         else "failed")
        if row.vv_heap and row.vv_heap != VISUALVM_HEAPS[0]:
            heap += "*"
        lines.append(
            f"| {row.dump_mb:.0f} | {row.objects:,} | {heap} | {fmt(vs, '.2f')} | {fmt(vm, '.0f')} "
            f"| {os_:.2f} | {om:.0f} | {fmt(tr, '.3f')} | {fmt(rr, '.2f')} "
            f"| {100 * os_ / row.dump_mb:.2f} | {om / row.dump_mb:.2f} "
            f"| {fmt(100 * vs / row.dump_mb if vs else None, '.2f')} | {goals} |")
    notes = [f"{r.dump_mb:.0f} MB: VisualVM {r.vv_note.rstrip('; ')}" for r in rows if r.vv_note]
    if any(r.vv_heap and r.vv_heap != VISUALVM_HEAPS[0] for r in rows):
        notes.insert(0, "\\* -Xmx1g was not enough for VisualVM on this dump: the smallest heap of "
                        "1g/2g/3g that worked was used.")
    lines.append("")
    if cold:
        r, written, crow = cold
        warm = med(crow.ol, "wall_s")
        lines.append(f"**Cold first run** (Numba compiling: NUMBA_CACHE_DIR set to an empty "
                     f"directory) on the {crow.dump_mb:.0f} MB dump: **{r.wall_s:.1f} s**, peak RSS "
                     f"{r.rss_mb:.0f} MB; warm: {warm:.2f} s, so compiling costs "
                     f"{r.wall_s - warm:.1f} s ({written} kernels compiled and cached). "
                     f"Goal: under 30 s {'✓' if r.wall_s < 30 else '✗'}.\n")
    lines.append("Wall time of the whole command (JVM or Python start-up included); peak RSS is "
                 "ru_maxrss of the process (file pages of the mapped dump count), MB = 10^6 bytes. "
                 "VisualVM runs are cold (new `.hwcache` each time), oomlens runs have a warm "
                 "Numba cache. Dumps: real OutOfMemoryError dumps of ProGuard made by "
                 "bench/make_big_dump.sh with MAX_HEAP "
                 + ", ".join(f"{r.size.max_heap} ({r.dump_mb:.0f} MB)" for r in rows) + ".\n")
    for n in notes:
        lines.append(f"- {n}")
    if notes:
        lines.append("")
    lines.append("<details><summary>every run</summary>\n")
    for row in rows:
        lines.append(f"- {row.dump.name}: VisualVM s [{spread(row.vv, 'wall_s', '.2f')}] "
                     f"MB [{spread(row.vv, 'rss_mb', '.0f')}]; oomlens s "
                     f"[{spread(row.ol, 'wall_s', '.2f')}] MB [{spread(row.ol, 'rss_mb', '.0f')}]")
        for p in row.vv_phases:
            lines.append(f"  - VisualVM {p}")
    lines.append("\n</details>\n")
    phase_rows = [r for r in rows if r.phases]
    if phase_rows:
        lines.append("Where oomlens spends its time (one warm run of bench/oomlens_phases.py, "
                     "in-process: no interpreter start-up; s, and peak RSS MB so far):\n")
        names = list(dict.fromkeys(p["phase"] for r in phase_rows for p in r.phases["phases"]))
        lines.append("| phase | " + " | ".join(f"{r.dump_mb:.0f} MB" for r in phase_rows) + " |")
        lines.append("|---|" + "--:|" * len(phase_rows))
        for name in names:
            cells = []
            for r in phase_rows:
                p = next((p for p in r.phases["phases"] if p["phase"] == name), None)
                cells.append("–" if p is None else f"{p['s']:.2f} s ({p['peak_rss_mb']:.0f} MB)")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("| total | " + " | ".join(f"{r.phases['total_s']:.2f} s "
                                                 f"({r.phases['peak_rss_mb']:.0f} MB)"
                                                 for r in phase_rows) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description="oomlens dominators vs VisualVM's heap library")
    ap.add_argument("--sizes", default=",".join(SIZES),
                    help=f"comma-separated dump sizes in MB, of {', '.join(SIZES)} "
                         "(default: all)")
    ap.add_argument("--repeat", type=int, default=3, help="measured runs of each (default 3)")
    ap.add_argument("--skip-visualvm", action="store_true", help="measure only oomlens")
    ap.add_argument("--no-phases", action="store_true",
                    help="skip the phase breakdown of oomlens")
    args = ap.parse_args()
    try:
        sizes = [SIZES[s.strip()] for s in args.sizes.split(",") if s.strip()]
    except KeyError as e:
        ap.error(f"unknown size {e}: choose from {', '.join(SIZES)}")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if not OOMLENS:
        sys.exit("oomlens is not installed in this Python environment")
    started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")

    rows = []
    for size in sizes:
        dump = ensure_dump(size)
        rows.append(Row(size, dump, dump.stat().st_size / 1e6, object_count(dump)))

    with tempfile.TemporaryDirectory(prefix="vvclasses-") as classes:
        classpath = None if args.skip_visualvm else compile_visualvm(visualvm_jar(), Path(classes))
        for row in rows:
            # the dump's pages in the page cache for both tools alike: read it once first
            with open(row.dump, "rb") as f:
                while f.read(1 << 24):
                    pass
            if classpath:
                visualvm_runs(classpath, row, args.repeat)
            oomlens_runs(row, args.repeat)
            if not args.no_phases:
                oomlens_phases(row)

    smallest = min(rows, key=lambda r: r.dump_mb)
    log(f"oomlens cold run (empty Numba cache) on {smallest.dump.name}")
    r, written = cold_run(smallest.dump)
    log(f"  cold {r.wall_s:.2f} s, {r.rss_mb:.0f} MB, {written} cache index files written")
    text = report(rows, (r, written, smallest), args, started)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(text + "\n")
    log(f"wrote {RESULTS / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
