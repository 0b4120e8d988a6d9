"""``oomlens`` command line: thin wrappers that parse options and call the layers.

Every command takes ``--json``; errors about the user's input are one line on stderr and exit
status 2.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

import click

from oomlens import __version__
from oomlens.errors import OomlensError, one_line

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1

# Command name -> module (in oomlens.cli.commands) whose ``command`` it is. A module is imported
# only when its command runs (or for --help): `strip` should not pay for loading the analysis.
COMMANDS = {"analyze": "analyze", "info": "info", "histogram": "histogram",
            "dominators": "dominators", "path": "path", "strip": "strip",
            "restore": "restore", "deobfuscate": "deobfuscate", "serve": "serve",
            "worker": "worker", "project": "project", "upload": "upload",
            "watch": "watch", "agent": "agent"}


class LazyCommands(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, name: str):
        module = COMMANDS.get(name)
        if module is None:
            return None
        return importlib.import_module(f"oomlens.cli.commands.{module}").command


@click.group(cls=LazyCommands,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="oomlens")
def cli() -> None:
    """Find out why a Java or Android app ran out of memory, from its heap dump (HPROF; plain,
    .gz or .zst)."""


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="oomlens", standalone_mode=False)
        return 0
    except OomlensError as exc:
        click.echo(f"oomlens: error: {one_line(exc)}", err=True)
        return EXIT_BAD_INPUT
    except click.exceptions.Abort:
        click.echo("oomlens: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"oomlens: error: {one_line(exc.format_message())}", err=True)
        return EXIT_BAD_INPUT
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("oomlens: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        click.echo("oomlens: error: out of memory while analysing this dump", err=True)
        return EXIT_INTERNAL
    except Exception as exc:  # a bug in oomlens, not the user's fault: say so in one line
        if os.environ.get("OOMLENS_DEBUG"):
            traceback.print_exc()
        click.echo(f"oomlens: internal error: {type(exc).__name__}: {one_line(exc)} "
                   "(set OOMLENS_DEBUG=1 for the traceback)", err=True)
        return EXIT_INTERNAL


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
