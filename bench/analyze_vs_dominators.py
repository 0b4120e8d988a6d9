"""Benchmark: what `oomlens analyze` costs on top of `oomlens dominators`.

    python bench/analyze_vs_dominators.py [--sizes 250] [--repeat 3]      (or: make bench-analyze)

The goal (issue 3): on the ~250 MB ProGuard OutOfMemoryError dump, the whole report (leaks with
traces, big objects, class clusters, bitmaps, threads, descriptors, JSON) costs at most 25% more
wall time than the dominator tree alone. Both commands run as a user runs them (fresh processes,
warm Numba cache, output to a file), alternating, --repeat times each; the table shows medians and
the ratio analyze / dominators. Dumps come from bench/make_big_dump.sh, as in
dominators_vs_visualvm.py (whose helpers this script reuses).

Not a unit test: nothing here asserts a time. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dominators_vs_visualvm import (OOMLENS, RESULTS, SIZES, WARM_CACHE, Run,  # noqa: E402
                                    ensure_dump, fmt, log, med, measure, oomlens_env,
                                    sizes_and_repeat)

GOAL = 1.25


def run(command: list[str], dump: Path) -> Run:
    r = measure([OOMLENS, *command, "--no-progress", str(dump)], env=oomlens_env(WARM_CACHE))
    if r.returncode != 0:
        sys.exit(f"oomlens {command[0]} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r


def main() -> int:
    args = sizes_and_repeat(__doc__.splitlines()[0])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        commands = {"dominators": ["dominators", "--top", "20"],
                    "analyze": ["analyze", "--format", "json", "--output", str(out)]}
        for label in args.sizes.split(","):
            dump = ensure_dump(SIZES[label.strip()])
            for command in commands.values():  # warm-up: Numba cache, page cache
                run(command, dump)
            runs: dict[str, list[Run]] = {name: [] for name in commands}
            for i in range(args.repeat):
                for name, command in commands.items():
                    r = run(command, dump)
                    runs[name].append(r)
                    log(f"{dump.name} {name} #{i + 1}: {r.wall_s:.2f} s, {r.rss_mb:.0f} MB")
            rows.append((dump, runs))
    lines = ["| dump | dominators s | analyze s | ratio (goal <= 1.25) | dominators MB | "
             "analyze MB | ratio |", "|---|---|---|---|---|---|---|"]
    for dump, runs in rows:
        d_s, a_s = med(runs["dominators"], "wall_s"), med(runs["analyze"], "wall_s")
        d_m, a_m = med(runs["dominators"], "rss_mb"), med(runs["analyze"], "rss_mb")
        mark = "met" if a_s / d_s <= GOAL else "MISSED"
        lines.append(f"| {dump.name} ({dump.stat().st_size / 1e6:.0f} MB) | {fmt(d_s, '.2f')} | "
                     f"{fmt(a_s, '.2f')} | {a_s / d_s:.2f} ({mark}) | {d_m:.0f} | {a_m:.0f} | "
                     f"{a_m / d_m:.2f} |")
    lines.append(f"\nmedians of {args.repeat} runs each, alternating; {platform.processor() or platform.machine()}, "
                 f"Python {platform.python_version()}; peak RSS = ru_maxrss (MB = 10^6 bytes)")
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "analyze_latest.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
