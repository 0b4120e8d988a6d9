"""Benchmark: `oomlens strip` against copying the file, side by side.

    python bench/strip_throughput.py [--sizes 250] [--repeat 3]        (or: make bench-strip)

The goal (issue 4): on the ~250 MB ProGuard OutOfMemoryError dump, `strip --no-compress` writes at
least 400 MB/s on this 2-core machine (copying the file is the limit), in under 100 MB of RSS
whatever the dump size, and the default (packed) output is at most a tenth of the original.
Every command runs as a user runs it (a fresh process), --repeat times,
alternating; the table shows medians. Before each run the output is deleted and `sync` flushes
the page cache's dirty pages, so no run pays for the previous one's writes (deleting a
250 MB file that is still being written back costs more than writing it).

Rows: `cp` and Python's shutil.copyfile (both copy inside the kernel, copy_file_range / sendfile),
a Python read + write loop (what any tool that edits the bytes must at least do; on this VM a
write() from user memory sometimes stalls for a few hundred ms, which the in-kernel copies never
do: the table gives the median and the best run), `oomlens strip` plain, packed and zstd, and
`oomlens strip` on a 1.8 MB dump: the fixed cost of a run (interpreter and imports: ~0.15 s and
~38 MB whatever the dump) that the "beyond start-up" columns subtract. MB = 10^6 bytes; MB/s counts the HPROF bytes written.
Dumps come from bench/make_big_dump.sh via dominators_vs_visualvm.py's helpers.

Not a unit test: nothing here asserts a time. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import gzip
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dominators_vs_visualvm import (OOMLENS, RESULTS, ROOT, SIZES, WARM_CACHE, Run,  # noqa: E402
                                    ensure_dump, log, med, measure, oomlens_env,
                                    sizes_and_repeat)

SMALL_DUMP = ROOT / "tests" / "data" / "oracle_jdk8_05_x64.hprof.gz"
_READ_WRITE = ("import sys\n"
               "with open(sys.argv[1], 'rb') as i, open(sys.argv[2], 'wb', buffering=0) as o:\n"
               "    while chunk := i.read(8 << 20):\n"
               "        o.write(chunk)\n")


def _output_bytes(run: Run, out: Path) -> int:
    """HPROF bytes written: the file for a plain copy, the --json figure for a compressed one."""
    import json

    if run.stdout.lstrip().startswith("{"):
        return json.loads(run.stdout)["stripped_bytes"]
    return out.stat().st_size


def main() -> int:
    args = sizes_and_repeat(__doc__.splitlines()[0])
    env = oomlens_env(WARM_CACHE)
    tables = []
    with tempfile.TemporaryDirectory(dir=ROOT / "bench" / "dumps") as tmp:
        tmp = Path(tmp)
        small = tmp / "small.hprof"
        small.write_bytes(gzip.decompress(SMALL_DUMP.read_bytes()))
        for label in args.sizes.split(","):
            dump = ensure_dump(SIZES[label.strip()])
            size = dump.stat().st_size
            out = tmp / "out"
            strip = [OOMLENS, "strip", "--no-progress", "--json"]
            commands = {
                "cp": ["cp", str(dump), str(out)],
                "shutil.copyfile": [sys.executable, "-c", "import shutil, sys; "
                                    "shutil.copyfile(sys.argv[1], sys.argv[2])", str(dump),
                                    str(out)],
                # what any tool that edits the bytes must at least do: read them into memory
                # and write them out (8 MB at a time), in a fresh interpreter
                "python read + write copy": [sys.executable, "-c", _READ_WRITE, str(dump),
                                             str(out)],
                "strip --no-compress": [*strip, "--no-compress", str(dump), str(out)],
                "strip (packed, the default)": [*strip, str(dump), str(out)],
                "strip --format zstd": [*strip, "--format", "zstd", str(dump), str(out)],
                "strip --level arrays (packed)": [*strip, "--level", "arrays", str(dump),
                                                  str(out)],
                "strip --level all (packed)": [*strip, "--level", "all", str(dump), str(out)],
                "start-up: strip --no-compress, 1.8 MB dump": [
                    *strip, "--no-compress", str(small), str(out)],
            }
            for command in commands.values():  # warm-up: page cache
                out.unlink(missing_ok=True)
                subprocess.run(command, env=env, capture_output=True, check=True)
            runs: dict[str, list[Run]] = {name: [] for name in commands}
            written: dict[str, int] = {}
            stored: dict[str, int] = {}
            for i in range(args.repeat):
                for name, command in commands.items():
                    out.unlink(missing_ok=True)
                    os.sync()
                    r = measure(command, env=env)
                    if r.returncode != 0:
                        sys.exit(f"{name} failed ({r.returncode}):\n{r.stderr[-3000:]}")
                    runs[name].append(r)
                    written[name] = _output_bytes(r, out)
                    stored[name] = out.stat().st_size
                    log(f"{dump.name} {name} #{i + 1}: {r.wall_s:.3f} s, {r.rss_mb:.0f} MB")
            tables.append(_table(dump, size, runs, written, stored))
    text = "\n\n".join(tables) + (
        f"\n\nmedians of {args.repeat} runs, alternating; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; MB = 10^6 bytes; peak RSS = "
        "ru_maxrss of the child (os.wait4); MB/s = HPROF bytes written / wall time")
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "strip_latest.md").write_text(text + "\n")
    return 0


def _table(dump: Path, size: int, runs, written, stored) -> str:
    startup = "start-up: strip --no-compress, 1.8 MB dump"
    t0, rss0 = med(runs[startup], "wall_s"), med(runs[startup], "rss_mb")
    lines = [f"{dump.name}: {size / 1e6:.1f} MB",
             "",
             "| command | wall s (best) | MB/s | beyond start-up: s, MB/s | peak RSS MB | "
             "RSS beyond start-up MB | output MB (stored) | original / output |",
             "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for name, rs in runs.items():
        wall, rss = med(rs, "wall_s"), med(rs, "rss_mb")
        mbps = written[name] / 1e6 / wall
        is_strip = name.startswith("strip")
        beyond = (f"{wall - t0:.3f} s, {written[name] / 1e6 / (wall - t0):.0f}"
                  if is_strip else "")
        extra = f"{rss - rss0:.0f}" if is_strip else ""
        ratio = f"{size / stored[name]:.1f}" if name != startup else ""
        best = min(r.wall_s for r in rs)
        lines.append(f"| `{name}` | {wall:.3f} ({best:.3f}) | {mbps:.0f} | {beyond} | {rss:.0f} | "
                     f"{extra} | "
                     f"{stored[name] / 1e6:.1f} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
