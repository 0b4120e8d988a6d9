"""Shared rendering helpers for the terminal commands."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.markup import escape

# Piped output is not wrapped at 80 columns: tables get room for long class names.
stdout_console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} GB"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else ('es' if noun.endswith('s') else 's')}"


def print_json(document) -> None:
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def safe(text: str) -> str:
    """Names come from untrusted dumps: never let them be read as rich markup."""
    return escape(str(text))
