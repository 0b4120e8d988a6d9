"""``oomlens deobfuscate DUMP OUTPUT --mapping FILE``: a copy of the dump with real names."""

from __future__ import annotations

import click

from oomlens.cli.format import human_bytes, print_json, safe, stdout_console
from oomlens.cli.progress import progress_reporter, stderr_console
from oomlens.cli.first_run import announce_compilation
from oomlens.retrace.apply import deobfuscate_dump
from oomlens.retrace.mapping import load_mapping


@click.command("deobfuscate")
@click.argument("dump", type=click.Path(dir_okay=False, path_type=str))
@click.argument("output", type=click.Path(dir_okay=False, path_type=str))
@click.option("--mapping", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="ProGuard/R8 mapping file of the app build.")
@click.option("--compress/--no-compress", default=False, show_default=True,
              help="Write the copy zstd-compressed (.hprof.zst) instead of plain HPROF.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--progress/--no-progress", default=None,
              help="Show progress on stderr (default: when stderr is a terminal).")
def command(dump: str, output: str, mapping: str, compress: bool, as_json: bool,
            progress: bool | None) -> None:
    """Write OUTPUT, a copy of DUMP (plain, .gz or .zst) in which class names, field names and
    stack frames are those of the source, as the ProGuard/R8 mapping gives them, so that any
    tool (VisualVM, MAT, Android Studio) shows real names. Objects, ids and sizes stay the
    same."""
    retrace = load_mapping(mapping)  # a bad mapping fails before anything is read or written
    announce_compilation()
    with progress_reporter(progress) as report:
        result = deobfuscate_dump(dump, output, retrace, compress, report)
    for warning in result["warnings"]:
        stderr_console.print(f"[yellow]warning:[/] {safe(warning)}")
    if as_json:
        print_json(result)
        return
    stdout_console.print(
        f"renamed {result['classes_renamed']:,} classes, {result['fields_renamed']:,} fields "
        f"and {result['frames_renamed']:,} stack frames ({result['new_strings']:,} new name "
        f"strings); wrote {safe(output)} ({human_bytes(result['hprof_bytes'])} of HPROF"
        f"{', zstd-compressed' if compress else ''})")
