"""``oomlens upload DUMP --server URL --key KEY``: send a dump to an oomlens server.

The client side for test farms, CI and JVM servers: optionally strip (and pack) the dump first,
then upload it with its metadata, retrying with backoff when the server or the network is away
(``capture.sender``). Every attempt carries the same idempotency key (by default a hash of the
bytes sent, or the capture's id when a sidecar is given), so a retry after a lost answer, or
uploading the same file twice, gives one report, not two.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import click

from oomlens.capture.sender import Retry, reports_url, send_dump
from oomlens.capture.sidecar import read_sidecar, upload_fields
from oomlens.cli.commands.common import send_strip_options
from oomlens.cli.format import print_json, safe, stdout_console
from oomlens.cli.progress import progress_reporter, stderr_console
from oomlens.errors import OomlensError


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@click.command("upload")
@click.argument("dump", type=click.Path(dir_okay=False, path_type=str))
@click.option("--server", required=True, envvar="OOMLENS_SERVER", help="e.g. http://host:8270")
@click.option("--key", required=True, envvar="OOMLENS_INGEST_KEY", help="The project's ingest key.")
@click.option("--strip/--no-strip", "do_strip", default=True, show_default=True,
              help="Remove user data (strip --level strings) and pack before sending.")
@send_strip_options
@click.option("--app-version", default="")
@click.option("--build", default="")
@click.option("--device-model", default="")
@click.option("--os-version", default="")
@click.option("--api-level", type=int, default=None)
@click.option("--process", "process_name", default="")
@click.option("--oom-message", default="", help="The OutOfMemoryError's message.")
@click.option("--heap-limit", "heap_limit_bytes", type=int, default=None, help="Bytes.")
@click.option("--mapping-id", default="")
@click.option("--sidecar", type=click.Path(dir_okay=False, path_type=str),
              help="The capture's sidecar (BASE.json, docs/capture.md): its metadata and "
                   "trigger; options given here override its fields.")
@click.option("--idempotency-key", default=None,
              help="Default: SHA-256 of the bytes sent (the same dump is one report).")
@click.option("--retries", type=click.IntRange(0, 20), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--progress/--no-progress", default=None)
def command(dump, server, key, do_strip, level, keep_thread_names, app_version, build,
            device_model, os_version, api_level, process_name, oom_message, heap_limit_bytes,
            mapping_id, sidecar, idempotency_key, retries, as_json, progress) -> None:
    """Upload DUMP (plain, .gz, .zst or packed) to an oomlens server, stripped of user data
    unless --no-strip, with the metadata given. Prints the report id."""
    reports_url(server)  # a URL that cannot work is an error before anything is stripped
    source = Path(dump)
    if not source.is_file():
        raise OomlensError(f"{source}: no such file")
    capture = read_sidecar(sidecar) if sidecar is not None else None
    fields = upload_fields(capture) if capture is not None else {}
    given = {"app_version": app_version, "build": build, "device_model": device_model,
             "os_version": os_version, "process": process_name, "oom_message": oom_message,
             "mapping_id": mapping_id, "api_level": "" if api_level is None else str(api_level),
             "heap_limit_bytes": "" if heap_limit_bytes is None else str(heap_limit_bytes)}
    fields.update({k: v for k, v in given.items() if v})
    with tempfile.TemporaryDirectory(prefix="oomlens-upload-") as work:
        body = source
        if do_strip:
            from oomlens.hprof.strip import strip_dump

            body = Path(work) / (source.name + ".oomp")
            with progress_reporter(progress) as report:
                strip_dump(source, body, level, "packed", report,
                           keep_thread_names=keep_thread_names)
        if idempotency_key is None:
            idempotency_key = (f"capture-{capture['capture_id']}"
                               if capture and capture.get("capture_id") else _digest(body))
        answer = send_dump(server, key, body, fields, idempotency_key, retries, _say_retrying)
    if as_json:
        print_json(answer)
        return
    state = "new report" if answer.get("created") else "already uploaded"
    stdout_console.print(f"{state} {safe(answer['id'])} ({answer['status']}) on "
                         f"{safe(server)}", soft_wrap=True)


def _say_retrying(retry: Retry) -> None:
    """The first failure says what the retries wait for; the next ones, only that they go on."""
    left = f"{retry.attempts_left} {'attempt' if retry.attempts_left == 1 else 'attempts'} left"
    if retry.attempt == 1:
        stderr_console.print(f"[yellow]upload failed ({safe(retry.problem)}); waiting for "
                             f"{safe(retry.waiting_for)}: retrying in {retry.delay_s:.1f} s, "
                             f"{left} (--retries)[/]")
    else:
        stderr_console.print(f"[yellow]upload failed again ({safe(retry.problem)}); retrying "
                             f"in {retry.delay_s:.1f} s, {left}[/]")


