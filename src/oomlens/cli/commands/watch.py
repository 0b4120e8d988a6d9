"""``oomlens watch SPOOL --server URL --key KEY``: upload what the agent captured.

Runs as a systemd service or a Kubernetes sidecar sharing the spool volume with the app (or with
``--once`` from cron). The work is in ``capture.watch``; this module parses options and turns
SIGTERM into a stop after the current step.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import click

from oomlens.cli.commands.common import send_strip_options
from oomlens.errors import OomlensError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class ByteSize(click.ParamType):
    """A size like 500M, 10G or 1048576 (binary units)."""

    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        m = _SIZE.match(str(value))
        if not m:
            self.fail(f"{value!r} is not a size like 500M, 10G or 1048576", param, ctx)
        return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


@click.command("watch")
@click.argument("spool", type=click.Path(file_okay=False, path_type=Path))
@click.option("--server", required=True, envvar="OOMLENS_SERVER", help="e.g. http://host:8270")
@click.option("--key", required=True, envvar="OOMLENS_INGEST_KEY", help="The project's ingest key.")
@send_strip_options
@click.option("--keep", is_flag=True,
              help="Keep uploaded captures in the spool (marked as uploaded, never sent again).")
@click.option("--max-bytes", type=ByteSize(), default=None,
              help="Bound the spool: remove the oldest captures beyond this size (e.g. 20G).")
@click.option("--interval", type=click.FloatRange(0.05), default=10.0, show_default=True,
              help="Seconds between looks at the spool (longer while the server is away).")
@click.option("--settle", type=click.FloatRange(0), default=60.0, show_default=True,
              help="Seconds a dump without a sidecar (java_pid*.hprof) must stay unchanged "
                   "before it is taken as complete.")
@click.option("--retries", type=click.IntRange(0, 20), default=2, show_default=True,
              help="Quick retries of one upload before waiting for the next round.")
@click.option("--once", is_flag=True, help="One round, then exit (status 2 if any capture is "
                                           "left because the server was away).")
def command(spool: Path, server: str, key: str, level: str, keep_thread_names: bool | None,
            keep: bool, max_bytes: int | None, interval: float, settle: float, retries: int,
            once: bool) -> None:
    """Upload the dumps a JVM agent wrote into SPOOL, oldest first: strip (--level), pack,
    send with the capture's metadata, delete after the server's 202. Killed at any point, it
    loses and duplicates nothing."""
    from oomlens.capture.sender import reports_url
    from oomlens.capture.watch import WatchSettings, watch
    from oomlens.hprof.strip import keeps_thread_names

    reports_url(server)
    keeps_thread_names(level, keep_thread_names)  # a combination strip refuses: refused now
    settings = WatchSettings(spool=spool, server=server, key=key, level=level,
                             keep_thread_names=keep_thread_names, keep=keep,
                             max_bytes=max_bytes, settle_s=settle, retries=retries)
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    result = watch(settings, interval, once, stop=lambda: bool(stopping))
    problem = result.key_refused or result.server_away
    if once and problem:
        raise OomlensError(f"{result.waiting} capture(s) not uploaded: {problem}")
