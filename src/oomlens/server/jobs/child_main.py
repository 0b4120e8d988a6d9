"""``python -m oomlens.server.jobs.child_main REPORT_ID``: one analysis (``analyse``), in its own
process (started by ``sandbox``).

Exit status 0 when the report is done or failed for a reason stored with it; anything else
(a crash, MemoryError under the runner's ceiling) exits non-zero with its reason as the last
line of stderr, and the runner queues the report again."""

from __future__ import annotations

import sys

from oomlens.server.core.config import ServerSettings
from oomlens.server.jobs.analyse import analyse_report


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m oomlens.server.jobs.child_main REPORT_ID", file=sys.stderr)
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
