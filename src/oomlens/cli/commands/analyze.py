"""``oomlens analyze DUMP``: what to fix first: leaks, big objects, class clusters, OOM cause.

A dump the agent captured comes with its sidecar (``BASE.hprof`` beside ``BASE.json`` in the
spool, docs/capture.md), which says why it was taken; analysing a spool file offline should say
so too without being told, so a valid sidecar beside the dump is used unless ``--no-sidecar``.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click

from oomlens.capture.sidecar import BadSidecar, read_sidecar
from oomlens.cli.commands.common import dump_input_options, opened_heap
from oomlens.cli.format import safe, stdout_console
from oomlens.cli.progress import stderr_console, step_reporter
from oomlens.config import load_settings
from oomlens.errors import OomlensError
from oomlens.report.document import build_report
from oomlens.report.text import ROWS, TRACES, render_text

EXIT_FINDINGS = 3
ALL_ROWS = "all"
# --fail-on choice -> the report section whose findings fail the run
_FAIL_ON = {"leaks": "leaks", "big-objects": "big_objects", "library-leaks": "library_leaks",
            "class-clusters": "class_clusters"}
_COMPRESSED = (".gz", ".zst")


def _row_count(ctx, param, value: str | None) -> int | str | None:
    """``--rows``: a positive number, ``all``, or None (the text report's defaults)."""
    if value is None or value == ALL_ROWS:
        return value
    if not value.isdigit() or int(value) < 1:
        raise click.BadParameter(f"{value!r} is neither a positive number nor 'all'")
    return int(value)


def _text_limits(rows: int | str | None) -> dict:
    """render_text's ``rows`` and ``traces`` for a ``--rows`` value (its defaults for None)."""
    if rows is None:
        return {}
    if rows == ALL_ROWS:
        return {"rows": None, "traces": None}
    return {"rows": rows, "traces": rows}


@click.command("analyze")
@dump_input_options
@click.option("--oom-message", help="The OutOfMemoryError message (from the crash log), to "
                                    "classify the cause (default: the sidecar's).")
@click.option("--sidecar", type=click.Path(dir_okay=False, path_type=str),
              help="The capture's sidecar (BASE.json, docs/capture.md): why the agent took the "
                   "dump. Default: X.json beside X.hprof, when it is one.")
@click.option("--no-sidecar", is_flag=True, help="Do not use the sidecar beside the dump.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="TOML config: app packages, thresholds, leak rules (see docs/config.md).")
@click.option("--app-package", "app_packages", multiple=True, metavar="PACKAGE",
              help="A package of the app's own code (repeatable); default: everything outside "
                   "the JDK, Android and common libraries.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "html"]),
              default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=str),
              help="Write the report to this file instead of stdout.")
@click.option("--rows", callback=_row_count, metavar="N|all",
              help=f"Rows of each table of the text report (default {ROWS}; leak groups "
                   f"{TRACES}, one trace each); 'all' shows every row, group and trace.")
@click.option("--fail-on", multiple=True, type=click.Choice(sorted(_FAIL_ON)),
              help=f"Exit with status {EXIT_FINDINGS} when the report has such findings "
                   "(for CI); repeatable.")
def command(dump: str, mapping: str | None, oom_message: str | None, sidecar: str | None,
            no_sidecar: bool, config_path: str | None, app_packages: tuple[str, ...],
            output_format: str, output: str | None, rows: int | str | None,
            fail_on: tuple[str, ...], dump_number: int, progress: bool | None) -> None:
    """Analyse DUMP and say what to fix first: leaking objects with their reference traces, big
    objects and who holds them, class clusters, bitmaps, threads, open files, and what kind of
    OutOfMemoryError it was (or which threshold the agent's capture crossed)."""
    if sidecar is not None and no_sidecar:
        raise OomlensError("--sidecar and --no-sidecar contradict each other: give one")
    settings = load_settings(config_path, app_packages)
    capture = read_sidecar(sidecar) if sidecar is not None else (
        None if no_sidecar else _sidecar_beside(dump))
    with opened_heap(dump, dump_number, progress, mapping) as heap:
        with step_reporter(progress) as step:
            report = build_report(heap, settings, oom_message, step=step,
                                  retrace=heap.retrace, capture=capture)
    _write(report, output_format, output, rows)
    failing = [name for name in fail_on if report[_FAIL_ON[name]]]
    if failing:
        stderr_console.print(f"oomlens: failing because of {', '.join(failing)} "
                             f"(--fail-on)")
        sys.exit(EXIT_FINDINGS)


def _sidecar_beside(dump: str) -> dict | None:
    """The capture sidecar ``X.json`` of the dump ``X.hprof`` (or ``X.hprof.gz``, ``.zst``),
    when there is one and it is valid; said on stderr, since it changes the report. Any other
    file of that name (a report written there, say) is left alone: --sidecar says what is wrong
    with one."""
    path = Path(dump)
    name = path.name
    for suffix in _COMPRESSED:
        name = name.removesuffix(suffix)
    if not name.endswith(".hprof"):
        return None
    beside = path.with_name(name.removesuffix(".hprof") + ".json")
    if not beside.is_file():
        return None
    try:
        capture = read_sidecar(beside)
    except BadSidecar:
        return None
    stderr_console.print(f"oomlens: using the capture sidecar {safe(str(beside))} "
                         f"({safe(capture['trigger'])}); --no-sidecar to leave it out",
                         soft_wrap=True)
    return capture


def _write(report: dict, output_format: str, output: str | None,
           rows: int | str | None = None) -> None:
    """Print the report, or write it to ``output``; text on a terminal gets its width and
    colours, text in a file 160 columns."""
    if output is None and output_format == "text":
        render_text(report, stdout_console, **_text_limits(rows))
        return
    text = _render(report, output_format, rows)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as e:
        raise OomlensError(f"cannot write {output}: {e.strerror or e}") from None
    stderr_console.print(f"wrote {safe(output)}")


def _render(report: dict, output_format: str, rows: int | str | None) -> str:
    if output_format == "json":
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    if output_format == "html":
        from oomlens.report.html import render_html

        return render_html(report)
    from rich.console import Console

    buffer = io.StringIO()
    render_text(report, Console(file=buffer, width=160, highlight=False), **_text_limits(rows))
    return buffer.getvalue()
