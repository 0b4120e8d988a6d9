"""``oomlens strip IN OUT``: a copy of the dump without the user's data (see hprof/strip.py)."""

from __future__ import annotations

import click

from oomlens.cli.format import human_bytes, plural, print_json, safe, stdout_console
from oomlens.cli.progress import progress_reporter, stderr_console
from oomlens.hprof.rewrite import OUTPUT_FORMS
from oomlens.hprof.strip import LEVELS, strip_dump

_LEVEL_HELP = ("What to remove: 'strings' = the characters of every String (but threads' "
               "names: --keep-thread-names) and the pixels of every Bitmap; 'arrays' = the "
               "elements of every primitive array; 'all' = also every primitive field and "
               "static value (references, names and sizes stay).")
_KEEP_THREAD_NAMES_HELP = (
    "Keep the characters of threads' names (default at --level strings): the app's code "
    "chooses them (pool-7-thread-3), and they explain an OutOfMemoryError at the thread "
    "limit; whatever the app put in a name stays readable. --no-keep-thread-names removes them "
    "too; --level arrays and all always do.")


@click.command("strip")
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False, path_type=str))
@click.argument("output", metavar="OUT", type=click.Path(dir_okay=False, path_type=str))
@click.option("--level", type=click.Choice(LEVELS), default="strings", show_default=True,
              help=_LEVEL_HELP)
@click.option("--format", "form", type=click.Choice(OUTPUT_FORMS), default=None,
              help="OUT as: 'packed' (default; oomlens's zstd container, about half the size of "
                   "plain zstd; every oomlens command reads it, `oomlens restore` makes HPROF "
                   "of it), 'zstd' (one zstd stream: `zstd -d` gives the HPROF) or 'plain' HPROF.")
@click.option("--no-compress", is_flag=True, help="Write plain HPROF (same as --format plain).")
@click.option("--zstd-level", type=click.IntRange(-7, 22), default=None,
              help="zstd compression level (default 3 packed, 1 zstd; 19: smallest, slow).")
@click.option("--keep-thread-names/--no-keep-thread-names", default=None,
              help=_KEEP_THREAD_NAMES_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--progress/--no-progress", default=None,
              help="Show progress on stderr (default: when stderr is a terminal).")
def command(source: str, output: str, level: str, form: str | None, no_compress: bool,
            zstd_level: int | None, keep_thread_names: bool | None, as_json: bool,
            progress: bool | None) -> None:
    """Write OUT, a copy of the heap dump IN (plain, .gz, .zst or packed) without the user's
    data: every object, id, class, reference, GC root and size stays, so `oomlens analyze` finds
    the same leaks, paths and retained sizes in OUT; removed array elements keep their length
    and type (PRIMITIVE_ARRAY_NODATA). `oomlens restore` makes a standard HPROF of OUT again."""
    if no_compress and form not in (None, "plain"):
        raise click.UsageError(f"--no-compress contradicts --format {form}")
    form = "plain" if no_compress else (form or "packed")
    with progress_reporter(progress) as report:
        result = strip_dump(source, output, level, form, report, zstd_level, keep_thread_names)
    for warning in result.warnings:
        stderr_console.print(f"[yellow]warning:[/] {safe(warning)}")
    if as_json:
        print_json(result.to_json())
        return
    how = "packed" if form == "packed" else "zstd-compressed"
    stored = (f", {human_bytes(result.stored_bytes)} {how} "
              f"(1/{result.hprof_bytes / max(result.stored_bytes, 1):.1f} of the input)"
              if result.compressed else "")
    stdout_console.print(
        f"stripped {safe(source)} ({human_bytes(result.hprof_bytes)} of HPROF) -> "
        f"{safe(output)}: {human_bytes(result.stripped_bytes)} of HPROF{stored}", soft_wrap=True)
    names = (f" (the names of {plural(result.thread_names, 'thread')} kept)"
             if result.keep_thread_names else " (thread names too)")
    removed = (f"values of {plural(result.string_values, 'String')}{names}, pixels of "
               f"{plural(result.bitmap_buffers, 'Bitmap')}: " if level == "strings" else "")
    zeroed = (f"; zeroed the fields of {plural(result.instances_zeroed, 'instance')} and the "
              f"statics of {plural(result.classes_zeroed, 'class')}" if level == "all" else "")
    stdout_console.print(
        f"level {level}: {removed}emptied {plural(result.arrays_emptied, 'array')} "
        f"({human_bytes(result.payload_bytes_removed)}){zeroed}", soft_wrap=True)


