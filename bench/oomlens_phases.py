"""Where `oomlens dominators DUMP` spends its time: a phase breakdown of one run.

    python bench/oomlens_phases.py DUMP [--json]

Times the import of oomlens, each phase that `oomlens.open_heap(path, progress=...)` reports
(from the first call with a phase name to the first call with the next one), the rest of the
opening, the dominator tree (``heap.dominator_tree``: every retained size) and picking the
top 20. Peak RSS is sampled at each phase boundary (resource.getrusage, so it is the peak so far).
With --json, prints one JSON object (used by dominators_vs_visualvm.py); otherwise a table.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dump")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    phases: list[list] = []  # [name, seconds, peak RSS MB at its end]
    t_start = time.perf_counter()
    import oomlens  # noqa: E402 (timed on purpose)
    import oomlens.analysis.analyzed  # noqa: F401 (open_heap imports it lazily: numba, numpy)

    t_last = time.perf_counter()
    phases.append(["import oomlens, numba, numpy, kernels", t_last - t_start, _peak_mb()])
    current = {"name": None, "t": t_last}

    def close_current(now: float) -> None:
        if current["name"] is not None:
            phases.append([current["name"], now - current["t"], _peak_mb()])

    def progress(phase, done, total):
        if phase != current["name"]:
            now = time.perf_counter()
            if current["name"] is None:
                phases.append(["open (before first progress)", now - current["t"], _peak_mb()])
            close_current(now)
            current["name"], current["t"] = phase, now

    heap = oomlens.open_heap(args.dump, progress=progress)
    # the last reported phase runs until open_heap returns
    close_current(time.perf_counter())
    t0 = time.perf_counter()
    tree = heap.dominator_tree
    t1 = time.perf_counter()
    phases.append(["dominator tree + retained sizes", t1 - t0, _peak_mb()])
    top = heap.top_dominators(20)
    total = int(tree.retained[tree.idom == -2].sum())
    rows = [(heap.object_at(int(i)).class_name, int(tree.retained[int(i)])) for i in top]
    t2 = time.perf_counter()
    phases.append(["top 20 + class names", t2 - t1, _peak_mb()])
    heap.close()
    result = {"dump": args.dump, "objects": int(heap.object_count), "reachable_bytes": total,
              "biggest": rows[0] if rows else None, "total_s": t2 - t_start,
              "peak_rss_mb": _peak_mb(),
              "phases": [{"phase": p, "s": round(s, 3), "peak_rss_mb": round(m, 1)}
                         for p, s, m in phases]}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.dump}: {result['objects']:,} objects, total {result['total_s']:.2f} s, "
          f"peak RSS {result['peak_rss_mb']:.0f} MB")
    print("| phase | s | % | peak RSS so far, MB |\n|---|--:|--:|--:|")
    for p in result["phases"]:
        print(f"| {p['phase']} | {p['s']:.2f} | {100 * p['s'] / result['total_s']:.0f} "
              f"| {p['peak_rss_mb']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
