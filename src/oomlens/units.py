"""Sizes and counts as people read them, shared by every rendering and by the sentences the
analysis writes (which is why this sits below the layers, with ids and errors)."""

from __future__ import annotations


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} GB"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else ('es' if noun.endswith('s') else 's')}"


def short_bytes(n: int) -> str:
    """``human_bytes`` without a trailing ``.0`` (``512 MB``, ``1.5 GB``): sizes in a sentence,
    where a limit someone configured reads as they wrote it."""
    return human_bytes(n).replace(".0 ", " ")
