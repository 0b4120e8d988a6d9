"""Running ``oomlens`` as a user does: a fresh process, its exit code, stdout and stderr."""

from __future__ import annotations

import subprocess
import sys


def oomlens_cli(*args):
    return subprocess.run([sys.executable, "-m", "oomlens.cli.main", *map(str, args)],
                          capture_output=True, text=True, timeout=300)
