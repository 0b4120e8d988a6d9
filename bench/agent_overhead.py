"""Benchmark: what the capture agent's threshold checks cost a busy JVM, side by side.

    python bench/agent_overhead.py [--seconds 10] [--repeat 3]       (or: make bench-agent)

A busy app (bench/java/BusyApp.java: two threads building and dropping small maps and strings,
so collections run all the time, over a steady 64 MB live set) runs for --seconds without the
agent and under it at three check intervals: the default 15 s, 1 s and 100 ms (150 times the
default's rate, to make a cost visible at all). Runs alternate, fresh JVMs, --repeat each; the
table gives medians of the work done per second and of the process's CPU time (agent included),
each as a ratio to the run without the agent. No threshold is crossed (the agent only checks).

Then the cost of one check in isolation: tests/java/capture/CheckCost.java runs the agent's
Monitor.check() 200,000 times in a loop after a warm-up and prints nanoseconds and bytes
allocated per check.

Not a unit test: nothing here asserts a time. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

from oomlens.capture.agent_jar import agent_jar  # noqa: E402

RESULTS = BENCH / "results"
CONFIGS = {"no agent": None, "agent, interval 15 s (default)": "15s",
           "agent, interval 1 s": "1s", "agent, interval 100 ms": "100ms"}
_RESULT = re.compile(r"ops=(\d+) cpu_ms=(\d+)")


def compile_programs(out: Path) -> None:
    sources = [BENCH / "java" / "BusyApp.java", ROOT / "tests" / "java" / "capture" /
               "CheckCost.java"]
    subprocess.run(["javac", "-cp", str(agent_jar()), "-d", str(out), *map(str, sources)],
                   check=True)


def busy_run(classes: Path, spool: Path, interval: str | None, seconds: int) -> tuple[int, int]:
    """(operations, process CPU ms) of one BusyApp run."""
    agent = [] if interval is None else [
        f"-javaagent:{agent_jar()}=spool={spool},app=busy,interval={interval}"]
    out = subprocess.run(["java", "-Xmx512m", *agent, "-cp", str(classes), "BusyApp",
                          str(seconds), "2", "64"], capture_output=True, text=True, check=True,
                         timeout=seconds + 120)
    m = _RESULT.search(out.stdout)
    if m is None:
        raise RuntimeError(f"BusyApp printed no result: {out.stdout} {out.stderr}")
    if list(spool.glob("*.hprof")):
        raise RuntimeError("a threshold was crossed: the run measured a dump, not checks")
    return int(m.group(1)), int(m.group(2))


def check_cost(classes: Path, spool: Path) -> str:
    out = subprocess.run(["java", "-Xmx256m", "-cp", f"{classes}:{agent_jar()}", "CheckCost",
                          "200000", f"spool={spool}"], capture_output=True, text=True,
                         check=True, timeout=300)
    return out.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        classes, spool = Path(tmp) / "classes", Path(tmp) / "spool"
        compile_programs(classes)
        runs: dict[str, list[tuple[int, int]]] = {name: [] for name in CONFIGS}
        for i in range(args.repeat):
            for name, interval in CONFIGS.items():
                ops, cpu = busy_run(classes, spool, interval, args.seconds)
                runs[name].append((ops, cpu))
                print(f"run {i + 1}: {name}: {ops / args.seconds:,.0f} ops/s, cpu {cpu} ms",
                      file=sys.stderr)
        cost = check_cost(classes, spool)
    base_ops = statistics.median(ops for ops, _ in runs["no agent"])
    base_cpu = statistics.median(cpu for _, cpu in runs["no agent"])
    lines = [f"BusyApp, 2 threads, {args.seconds} s per run, medians of {args.repeat} "
             f"(alternating); {platform.machine()}, {platform.python_version()} driver, "
             f"{java_version()}",
             "",
             "| configuration | work per second | ratio | process CPU s | ratio |",
             "|---|--:|--:|--:|--:|"]
    for name in CONFIGS:
        ops = statistics.median(o for o, _ in runs[name])
        cpu = statistics.median(c for _, c in runs[name])
        lines.append(f"| {name} | {ops / args.seconds:,.0f} | {ops / base_ops:.3f} | "
                     f"{cpu / 1000:.2f} | {cpu / base_cpu:.3f} |")
    lines += ["", f"One check in isolation (CheckCost): {cost}"]
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "agent_overhead.md").write_text(table + "\n")
    return 0


def java_version() -> str:
    out = subprocess.run(["java", "-version"], capture_output=True, text=True)
    return out.stderr.splitlines()[0] if out.stderr else "java"


if __name__ == "__main__":
    sys.exit(main())
