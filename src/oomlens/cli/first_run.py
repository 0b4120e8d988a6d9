"""The one line a first run prints while Numba compiles the analysis kernels.

The kernels are compiled on first use and cached on disk (``cache=True``): the first command
after an install, or in a fresh container, spends ~15 s compiling before its progress starts,
and without a word that looks like a hang. Numba signals a compilation (a cache miss, never a
cache hit) with its ``numba:compile`` event; the first one prints the line, whether or not
stderr is a terminal, since a CI log is where a silent 15 s is most puzzling.
"""

from __future__ import annotations

from numba.core import event

from oomlens.cli.progress import stderr_console

MESSAGE = "oomlens: compiling analysis kernels once, ~15 s (later runs reuse them)"


class _FirstCompile(event.Listener):
    def __init__(self):
        self.said = False

    def on_start(self, e) -> None:
        if not self.said:
            self.said = True
            stderr_console.print(MESSAGE)

    def on_end(self, e) -> None:
        pass


_listener: _FirstCompile | None = None


def announce_compilation() -> None:
    """Print MESSAGE when the first kernel compiles in this process (once, however often
    called)."""
    global _listener
    if _listener is None:
        _listener = _FirstCompile()
        event.register("numba:compile", _listener)
