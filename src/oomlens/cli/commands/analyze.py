"""``oomlens analyze DUMP``: what to fix first: leaks, big objects, class clusters, OOM cause."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from oomlens.cli.commands.common import mapping_option, opened_heap
from oomlens.cli.format import safe, stdout_console
from oomlens.cli.progress import stderr_console, step_reporter
from oomlens.config import load_settings
from oomlens.errors import OomlensError
from oomlens.report.document import build_report

EXIT_FINDINGS = 3
_FAIL_ON = {"leaks": ("leaks",), "big-objects": ("big_objects",),
            "library-leaks": ("library_leaks",), "class-clusters": ("class_clusters",)}


@click.command("analyze")
@click.argument("dump", type=click.Path(dir_okay=False, path_type=str))
@mapping_option
@click.option("--oom-message", help="The OutOfMemoryError message (from the crash log), to "
                                    "classify the cause.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="TOML config: app packages, thresholds, leak rules (see docs/config.md).")
@click.option("--app-package", "app_packages", multiple=True, metavar="PACKAGE",
              help="A package of the app's own code (repeatable); default: everything outside "
                   "the JDK, Android and common libraries.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "html"]),
              default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=str),
              help="Write the report to this file instead of stdout.")
@click.option("--fail-on", multiple=True, type=click.Choice(sorted(_FAIL_ON)),
              help=f"Exit with status {EXIT_FINDINGS} when the report has such findings "
                   "(for CI); repeatable.")
@click.option("--dump", "dump_number", type=click.IntRange(min=1), default=1, show_default=True,
              help="Which heap dump to analyse when the file holds several.")
@click.option("--progress/--no-progress", default=None,
              help="Show progress on stderr (default: when stderr is a terminal).")
def command(dump: str, mapping: str | None, oom_message: str | None, config_path: str | None,
            app_packages: tuple[str, ...], output_format: str, output: str | None,
            fail_on: tuple[str, ...], dump_number: int, progress: bool | None) -> None:
    """Analyse DUMP and say what to fix first: leaking objects with their reference traces, big
    objects and who holds them, class clusters, bitmaps, threads, open files, and what kind of
    OutOfMemoryError it was."""
    settings = load_settings(config_path, app_packages)
    with opened_heap(dump, dump_number, progress, mapping) as heap:
        with step_reporter(progress) as step:
            report = build_report(heap, settings, oom_message, step=step,
                                  retrace=heap.retrace)
    _write(report, output_format, output)
    failing = [name for name in fail_on for key in _FAIL_ON[name] if report[key]]
    if failing:
        stderr_console.print(f"oomlens: failing because of {', '.join(failing)} "
                             f"(--fail-on)")
        sys.exit(EXIT_FINDINGS)


def _write(report: dict, output_format: str, output: str | None) -> None:
    if output_format == "json":
        import json

        text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    elif output_format == "html":
        from oomlens.report.html import render_html

        text = render_html(report)
    else:
        text = None
    if output is None:
        if text is None:
            from oomlens.report.text import render_text

            render_text(report, stdout_console)
        else:
            sys.stdout.write(text)
        return
    try:
        if text is None:
            from rich.console import Console

            from oomlens.report.text import render_text

            with open(output, "w", encoding="utf-8") as f:
                render_text(report, Console(file=f, width=160, highlight=False))
        else:
            Path(output).write_text(text, encoding="utf-8")
    except OSError as e:
        raise OomlensError(f"cannot write {output}: {e.strerror or e}") from None
    stderr_console.print(f"wrote {safe(output)}")
