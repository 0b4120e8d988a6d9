"""``oomlens strip IN OUT``: a copy of the dump without the user's data (see hprof/strip.py)."""

from __future__ import annotations

import click

from oomlens.cli.format import human_bytes, plural, print_json, safe, stdout_console
from oomlens.cli.progress import progress_reporter, stderr_console
from oomlens.hprof.rewrite import DEFAULT_ZSTD_LEVEL
from oomlens.hprof.strip import LEVELS, strip_dump

_LEVEL_HELP = ("What to remove: 'strings' = the characters of every String and the pixels of "
               "every Bitmap; 'arrays' = the elements of every primitive array; 'all' = also "
               "every primitive field and static value (references, names and sizes stay).")


@click.command("strip")
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False, path_type=str))
@click.argument("output", metavar="OUT", type=click.Path(dir_okay=False, path_type=str))
@click.option("--level", type=click.Choice(LEVELS), default="strings", show_default=True,
              help=_LEVEL_HELP)
@click.option("--compress/--no-compress", default=True, show_default=True,
              help="zstd-compress OUT (.hprof.zst), or write plain HPROF.")
@click.option("--zstd-level", type=click.IntRange(-7, 22), default=DEFAULT_ZSTD_LEVEL,
              show_default=True, help="zstd compression level (19: smallest, much slower).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--progress/--no-progress", default=None,
              help="Show progress on stderr (default: when stderr is a terminal).")
def command(source: str, output: str, level: str, compress: bool, zstd_level: int,
            as_json: bool, progress: bool | None) -> None:
    """Write OUT, a copy of the heap dump IN (plain, .gz or .zst) without the user's data:
    every object, id, class, reference, GC root and size stays, so `oomlens analyze` finds the
    same leaks, paths and retained sizes in OUT; removed array elements keep their length and
    type (PRIMITIVE_ARRAY_NODATA). `oomlens restore` makes a standard HPROF of OUT again."""
    with progress_reporter(progress) as report:
        result = strip_dump(source, output, level, compress, report, zstd_level)
    for warning in result.warnings:
        stderr_console.print(f"[yellow]warning:[/] {safe(warning)}")
    if as_json:
        print_json(result.to_json())
        return
    stored = (f", {human_bytes(result.stored_bytes)} zstd-compressed "
              f"(1/{result.hprof_bytes / max(result.stored_bytes, 1):.1f} of the input)"
              if result.compressed else "")
    stdout_console.print(
        f"stripped {safe(source)} ({human_bytes(result.hprof_bytes)} of HPROF) -> "
        f"{safe(output)}: {human_bytes(result.stripped_bytes)} of HPROF{stored}", soft_wrap=True)
    removed = (f"values of {plural(result.string_values, 'String')}, pixels of "
               f"{plural(result.bitmap_buffers, 'Bitmap')}: " if level == "strings" else "")
    zeroed = (f"; zeroed the fields of {plural(result.instances_zeroed, 'instance')} and the "
              f"statics of {plural(result.classes_zeroed, 'class')}" if level == "all" else "")
    stdout_console.print(
        f"level {level}: {removed}emptied {plural(result.arrays_emptied, 'array')} "
        f"({human_bytes(result.payload_bytes_removed)}){zeroed}", soft_wrap=True)


