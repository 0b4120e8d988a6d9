"""Progress on stderr while a dump is indexed and analysed: a rich bar on a terminal, nothing
when stderr is a pipe or a file (CI logs stay clean)."""

from __future__ import annotations

import contextlib
import sys

from rich.console import Console
from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn,
                           TimeElapsedColumn)

stderr_console = Console(stderr=True, soft_wrap=True, highlight=False)  # one message, one line


@contextlib.contextmanager
def progress_reporter(enabled: bool | None = None):
    """Yields a ``(phase, done, total)`` callback, or None when progress is off."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    bar = Progress(TextColumn("{task.description:<24}"), BarColumn(), TaskProgressColumn(),
                   TimeElapsedColumn(), console=stderr_console, transient=True)
    tasks: dict[str, int] = {}

    def report(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=max(total, 1))
        bar.update(tasks[phase], completed=done, total=max(total, 1))

    with bar:
        yield report


@contextlib.contextmanager
def status(message: str, enabled: bool | None = None):
    """A spinner for phases that have no measurable progress (dominators, paths)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield
        return
    with stderr_console.status(message):
        yield


@contextlib.contextmanager
def step_reporter(enabled: bool | None = None):
    """Yields ``step(name)``: a spinner naming the phase that runs now (analysis phases have
    no measurable progress of their own)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda name: None
        return
    with stderr_console.status("analysing") as spinner:
        yield lambda name: spinner.update(f"analysing: {name}")
