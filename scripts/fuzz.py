"""``make fuzz``: the large hostile-input campaign (tests/support/fuzz_runner.py says what a case is and
what passing means; tests/hprof/test_fuzz_campaign.py runs a small one in the test suite).

    scripts/fuzz.py [--cases N] [--seed S] [--workers W] [--workdir DIR]
    scripts/fuzz.py --seed S --case I      # replay one case, keeping its folder

Prints a line per failing case as it happens, then a table of cases per command and format,
failures, exit statuses, peak RSS and longest time. Failing cases keep their input, stdout and
stderr under DIR/cases/SEED-I. Exits 1 when any case failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

import fuzz_runner  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--first", type=int, default=0, help="number of the first case")
    parser.add_argument("--case", type=int, help="replay this one case")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("fuzz-work"))
    args = parser.parse_args()
    if args.case is not None:
        inputs = fuzz_runner.Inputs(args.workdir)
        result = fuzz_runner.run_case(args.seed, args.case, inputs)
        print(result.report() if not result.passed else
              f"{result.case.describe()}\n  passed: exit {result.run.rc} after "
              f"{result.run.seconds:.1f} s, peak RSS {result.run.rss / 1e6:.0f} MB")
        return 0 if result.passed else 1
    print(f"seed {args.seed}: cases {args.first} to {args.first + args.cases - 1}, "
          f"{args.workers} at a time, in {args.workdir}", flush=True)
    done = [0]
    start = time.monotonic()
    args.workdir.mkdir(parents=True, exist_ok=True)
    log = open(args.workdir / f"results-{args.seed}.jsonl", "w")  # noqa: SIM115

    def on_result(result):
        done[0] += 1
        c, r = result.case, result.run
        log.write(json.dumps({"case": c.index, "command": c.command, "format": c.form,
                              "base": c.base, "rc": r.rc, "seconds": round(r.seconds, 2),
                              "rss": r.rss, "passed": result.passed, "steps": c.steps,
                              "argv": c.argv, "last": (r.stderr.strip().splitlines() or
                                                       [""])[-1][:300]}) + "\n")
        log.flush()
        if not result.passed:
            print(f"FAILED {result.report()}\n", flush=True)
        if done[0] % 100 == 0:
            print(f"... {done[0]} cases in {time.monotonic() - start:.0f} s", flush=True)

    results = fuzz_runner.run_campaign(args.seed, range(args.first, args.first + args.cases),
                                       args.workdir, args.workers, on_result)
    print(fuzz_runner.summary(results))
    print("most frequent errors:\n" + fuzz_runner.common_errors(results))
    print("slowest cases:")
    for r in sorted(results, key=lambda r: -r.run.seconds)[:5]:
        print(f"  {r.run.seconds:5.1f} s  case {r.case.index}: {r.case.command} on "
              f"{r.case.form} {r.case.base}")
    log.close()
    print(f"{time.monotonic() - start:.0f} s; memory bound per case: "
          f"{fuzz_runner.BASE_RSS >> 20} MiB + 8 x HPROF bytes + 32 x mapping bytes; "
          f"timeout {fuzz_runner.TIMEOUT:.0f} s")
    return 1 if any(not r.passed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
