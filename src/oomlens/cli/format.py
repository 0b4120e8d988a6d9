"""Shared rendering helpers for the terminal commands."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.markup import escape

from oomlens.errors import one_line
from oomlens.units import human_bytes, plural  # noqa: F401 - re-exported for commands

# Piped output is not wrapped at 80 columns: tables get room for long class names.
stdout_console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def print_json(document) -> None:
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def safe(text: str) -> str:
    """Names come from untrusted dumps: never let them be read as rich markup, nor break a line
    or send the terminal a control sequence."""
    return escape(one_line(text))
