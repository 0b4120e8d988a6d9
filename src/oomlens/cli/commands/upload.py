"""``oomlens upload DUMP --server URL --key KEY``: send a dump to an oomlens server.

The client side for test farms, CI and JVM servers: optionally strip (and pack) the dump first,
then upload it with its metadata, retrying with backoff when the server or the network is away.
Every attempt carries the same idempotency key (by default a hash of the bytes sent), so a retry
after a lost answer, or uploading the same file twice, gives one report, not two.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path

import click

from oomlens.cli.format import print_json, safe, stdout_console
from oomlens.cli.progress import progress_reporter, stderr_console
from oomlens.errors import OomlensError

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


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
@click.option("--level", type=click.Choice(["strings", "arrays", "all"]), default="strings",
              show_default=True, help="Strip level (see `oomlens strip --help`).")
@click.option("--app-version", default="")
@click.option("--build", default="")
@click.option("--device-model", default="")
@click.option("--os-version", default="")
@click.option("--api-level", type=int, default=None)
@click.option("--process", "process_name", default="")
@click.option("--oom-message", default="", help="The OutOfMemoryError's message.")
@click.option("--heap-limit", "heap_limit_bytes", type=int, default=None, help="Bytes.")
@click.option("--mapping-id", default="")
@click.option("--idempotency-key", default=None,
              help="Default: SHA-256 of the bytes sent (the same dump is one report).")
@click.option("--retries", type=click.IntRange(0, 20), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--progress/--no-progress", default=None)
def command(dump, server, key, do_strip, level, app_version, build, device_model, os_version,
            api_level, process_name, oom_message, heap_limit_bytes, mapping_id, idempotency_key,
            retries, as_json, progress) -> None:
    """Upload DUMP (plain, .gz, .zst or packed) to an oomlens server, stripped of user data
    unless --no-strip, with the metadata given. Prints the report id."""
    source = Path(dump)
    if not source.is_file():
        raise OomlensError(f"{source}: no such file")
    with tempfile.TemporaryDirectory(prefix="oomlens-upload-") as work:
        body = source
        if do_strip:
            from oomlens.hprof.strip import strip_dump

            body = Path(work) / (source.name + ".oomp")
            with progress_reporter(progress) as report:
                strip_dump(source, body, level, "packed", report)
        fields = {"app_version": app_version, "build": build, "device_model": device_model,
                  "os_version": os_version, "process": process_name, "oom_message": oom_message,
                  "mapping_id": mapping_id}
        if api_level is not None:
            fields["api_level"] = str(api_level)
        if heap_limit_bytes is not None:
            fields["heap_limit_bytes"] = str(heap_limit_bytes)
        answer = _send(server.rstrip("/"), key, body, fields,
                       idempotency_key or _digest(body), retries)
    if as_json:
        print_json(answer)
        return
    state = "new report" if answer.get("created") else "already uploaded"
    stdout_console.print(f"{state} {safe(answer['id'])} ({answer['status']}) on "
                         f"{safe(server)}", soft_wrap=True)


def _send(server: str, key: str, body: Path, fields: dict, idempotency_key: str,
          retries: int) -> dict:
    import httpx

    url = f"{server}/api/v1/reports"
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key}
    delay = 0.5
    for attempt in range(retries + 1):
        try:
            with open(body, "rb") as f:
                r = httpx.post(url, files={"dump": (body.name, f)}, data=fields,
                               headers=headers, timeout=httpx.Timeout(30, write=600))
            if r.status_code == 202:
                return r.json()
            if r.status_code not in RETRYABLE:
                raise OomlensError(f"{url}: {r.status_code} {_detail(r)}")
            problem = f"{r.status_code} {_detail(r)}"
        except httpx.TransportError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if attempt < retries:
            stderr_console.print(f"[yellow]upload failed ({safe(problem)}); retrying in "
                                 f"{delay:.1f} s[/]")
            time.sleep(delay)
            delay = min(delay * 2, 30)
    raise OomlensError(f"{url}: gave up after {retries + 1} attempts: {problem}")


def _detail(response) -> str:
    try:
        return str(response.json().get("detail", ""))[:300]
    except ValueError:
        return response.text[:300]
