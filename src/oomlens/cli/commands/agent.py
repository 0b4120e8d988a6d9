"""``oomlens agent``: the JVM capture agent that ships with oomlens (docs/capture.md).

``oomlens agent path`` prints the jar, for ``-javaagent:$(oomlens agent path)=spool=DIR,...``;
``oomlens agent options`` prints the agent's own table of options (the jar holds the one table
its parser uses, so the two cannot disagree).
"""

from __future__ import annotations

import subprocess

import click

from oomlens.capture.agent_jar import agent_jar, java_command
from oomlens.errors import OomlensError

# the keys, for --help only; tests/capture/test_agent.py checks them against the jar's table
OPTION_KEYS = ("spool", "app", "version", "build", "interval", "heap", "heap-checks", "heap-step",
               "threads", "fds", "cooldown", "daily-cap", "oom", "reserve")


@click.group("agent", epilog="Agent options (key=value, comma-separated): "
             + ", ".join(OPTION_KEYS) + ". Only spool is required; `oomlens agent options` "
             "prints what each means and its default. Also -Doomlens.KEY=VALUE or "
             "OOMLENS_AGENT_KEY=VALUE, which the agent argument overrides.")
def command() -> None:
    """The JVM agent that dumps the heap where an app runs out of memory: at an
    OutOfMemoryError and at heap, thread and file-descriptor thresholds, into a spool folder
    that `oomlens watch` uploads from.

    \b
        java -javaagent:$(oomlens agent path)=spool=/var/lib/oomlens/spool,app=checkout ...
    """


@command.command("path")
def path() -> None:
    """Print the agent jar's absolute path."""
    click.echo(str(agent_jar()))


@command.command("options")
def options() -> None:
    """Print the agent's options: forms, meaning, default."""
    jar = agent_jar()
    result = subprocess.run([java_command(), "-jar", str(jar)], capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise OomlensError(f"java -jar {jar} failed ({result.returncode}): {last}")
    click.echo(result.stdout, nl=False)
