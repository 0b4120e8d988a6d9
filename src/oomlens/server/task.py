"""``python -m oomlens.server.task REPORT_ID``: one analysis, in its own process (runner.py).

Exit status 0 when the report is done or failed for a reason stored with it; anything else
(a crash, MemoryError under the runner's ceiling) exits non-zero with its reason as the last
line of stderr, and the runner queues the report again."""

from __future__ import annotations

import sys

from oomlens.server.analysis import analyse_report
from oomlens.server.settings import ServerSettings


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m oomlens.server.task REPORT_ID", file=sys.stderr)
        return 2
    try:
        analyse_report(ServerSettings.from_env(), argv[0])
    except MemoryError:
        print("out of memory (the analysis memory ceiling, OOMLENS_ANALYSIS_MEMORY_MB)",
              file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
