"""``oomlens restore IN OUT``: a standard HPROF again from a stripped dump (hprof/restore.py)."""

from __future__ import annotations

import click

from oomlens.cli.format import human_bytes, plural, print_json, safe, stdout_console
from oomlens.cli.progress import progress_reporter, stderr_console
from oomlens.hprof.restore import restore_dump


@click.command("restore")
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False, path_type=str))
@click.argument("output", metavar="OUT", type=click.Path(dir_okay=False, path_type=str))
@click.option("--compress/--no-compress", default=False, show_default=True,
              help="zstd-compress OUT, or write plain HPROF.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--progress/--no-progress", default=None,
              help="Show progress on stderr (default: when stderr is a terminal).")
def command(source: str, output: str, compress: bool, as_json: bool,
            progress: bool | None) -> None:
    """Write OUT, a standard HPROF made from the stripped dump IN (plain, .gz or .zst): every
    array strip emptied gets its elements back as zeros, so VisualVM, MAT and Android Studio's
    hprof-conv open it; records, ids and sizes are the original dump's."""
    with progress_reporter(progress) as report:
        result = restore_dump(source, output, compress, report)
    for warning in result.warnings:
        stderr_console.print(f"[yellow]warning:[/] {safe(warning)}")
    if as_json:
        print_json(result.to_json())
        return
    stored = f", {human_bytes(result.stored_bytes)} zstd-compressed" if compress else ""
    stdout_console.print(
        f"restored {safe(source)} ({human_bytes(result.hprof_bytes)} of HPROF) -> "
        f"{safe(output)}: {human_bytes(result.restored_bytes)} of HPROF{stored}; filled "
        f"{plural(result.arrays_filled, 'array')} with {human_bytes(result.zero_bytes_added)} "
        "of zeros", soft_wrap=True)
