"""Shared rendering helpers for the terminal commands."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.markup import escape

stdout_console = Console(highlight=False, soft_wrap=True)


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} GB"


def print_json(document) -> None:
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def safe(text: str) -> str:
    """Names come from untrusted dumps: never let them be read as rich markup."""
    return escape(str(text))
