"""Options and set-up every command shares: the dump argument, ``--dump N``, ``--json``,
``--mapping``; and how the commands that strip before sending (upload, watch) strip."""

from __future__ import annotations

import contextlib

import click

import oomlens
from oomlens.cli.progress import progress_reporter, stderr_console
from oomlens.cli.format import safe


def dump_options(func):
    """DUMP argument, --dump N, --mapping FILE, --json, --progress/--no-progress."""
    func = click.option("--json", "as_json", is_flag=True,
                        help="Print machine-readable JSON instead of a table.")(func)
    return dump_input_options(func)


def dump_input_options(func):
    """What every command that opens a dump takes: DUMP, --dump N, --mapping FILE,
    --progress/--no-progress (``analyze`` has its own output options instead of --json)."""
    func = click.option("--progress/--no-progress", default=None,
                        help="Show progress on stderr (default: when stderr is a terminal).")(func)
    func = click.option("--mapping", type=click.Path(dir_okay=False, path_type=str),
                        help="ProGuard/R8 mapping file of the app build: show real class and "
                             "field names.")(func)
    func = click.option("--dump", "dump_number", type=click.IntRange(min=1), default=1,
                        show_default=True,
                        help="Which heap dump to analyse when the file holds several.")(func)
    func = click.argument("dump", type=click.Path(dir_okay=False, path_type=str))(func)
    return func


def send_strip_options(func):
    """--level and --keep-thread-names/--no-keep-thread-names of a command that strips a dump
    before it sends it (``oomlens strip`` documents both at length)."""
    func = click.option("--keep-thread-names/--no-keep-thread-names", default=None,
                        help="Keep threads' names when stripping (the default at --level "
                             "strings; see `oomlens strip --help`).")(func)
    return click.option("--level", type=click.Choice(["strings", "arrays", "all"]),
                        default="strings", show_default=True,
                        help="Strip level (see `oomlens strip --help`).")(func)


@contextlib.contextmanager
def opened_heap(dump: str, dump_number: int, show_progress: bool | None,
                mapping: str | None = None):
    """Index the dump with progress, restore names with ``mapping`` (read first, so a bad file
    fails before the dump is indexed; ``heap.retrace`` then says what was renamed); afterwards
    print the heap's warnings to stderr and close it."""
    from oomlens.cli.first_run import announce_compilation  # imports Numba: upload needs none

    announce_compilation()
    retrace = None
    if mapping is not None:
        from oomlens.retrace.mapping import load_mapping

        retrace = load_mapping(mapping)
    with progress_reporter(show_progress) as report:
        heap = oomlens.open_heap(dump, dump_number - 1, progress=report, mapping=retrace)
    try:
        yield heap
    finally:
        # printed last: some warnings only arise while analysing (e.g. missing GC roots)
        for warning in heap.warnings:
            stderr_console.print(f"[yellow]warning:[/] {safe(warning)}")
        heap.close()
