"""What `make run` does: start `oomlens serve` on the embedded default, upload the bundled sample
dumps to a `samples` project as an app would, wait for their analyses and print where to look.

    python scripts/serve_samples.py [--port 8270] [--data-dir oomlens-data] [--once]

The project's keys are made on the first run and kept in DATA_DIR/samples-keys.json (readable by
you only); later runs reuse them, and the uploads are idempotent (the same dump is the same
report). The server keeps running until Ctrl-C; --once stops it after printing (for tests).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from oomlens.errors import OomlensError
from oomlens.server.probe import wait_until_up

ROOT = Path(__file__).resolve().parent.parent
OOMLENS = [sys.executable, "-m", "oomlens.cli.main"]
# (dump, app version, device, the OutOfMemoryError's message as the app reported it)
SAMPLES = [
    ("dalvik_leak_service_binder.hprof.gz", "2.3.0", "Pixel 4a",
     "java.lang.OutOfMemoryError: Failed to allocate a 65548 byte allocation with 3200 free "
     "bytes and 3KB until OOM, target footprint 268435456, growth limit 268435456"),
    ("dalvik_dialer.hprof.gz", "2.3.0", "Galaxy S10",
     "java.lang.OutOfMemoryError: pthread_create (1040KB stack) failed: Try again"),
    ("openjdk_jdk11_04_x64.hprof.gz", "2.3.1", "server-7", "java.lang.OutOfMemoryError: "
     "Java heap space"),
]


def keys_for(data_dir: Path) -> dict:
    saved = data_dir / "samples-keys.json"
    if saved.exists():
        return json.loads(saved.read_text())
    out = subprocess.run([*OOMLENS, "project", "create", "samples", "--name", "Sample app",
                          "--data-dir", str(data_dir)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr.strip())
    saved.write_text(out.stdout)
    saved.chmod(0o600)
    return json.loads(out.stdout)


def upload_samples(url: str, keys: dict) -> list[str]:
    ids = []
    for name, version, device, message in SAMPLES:
        out = subprocess.run([*OOMLENS, "upload", str(ROOT / "tests" / "data" / name),
                              "--server", url, "--key", keys["ingest_key"], "--json",
                              "--no-progress", "--app-version", version, "--device-model",
                              device, "--oom-message", message], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(out.stderr.strip())
        ids.append(json.loads(out.stdout)["id"])
        print(f"uploaded {name} (app {version}, {device})", flush=True)
    return ids


def wait_analysed(url: str, keys: dict, ids: list[str]) -> None:
    headers = {"Authorization": f"Bearer {keys['read_key']}"}
    pending = set(ids)
    deadline = time.monotonic() + 600
    while pending and time.monotonic() < deadline:
        for report_id in sorted(pending):
            state = httpx.get(f"{url}/api/v1/reports/{report_id}", headers=headers,
                              timeout=10).json()
            if state["status"] in ("done", "failed", "dead"):
                pending.discard(report_id)
                print(f"report {report_id}: {state['status']}"
                      + (f" ({state['oom_cause']})" if state.get("oom_cause") else ""),
                      flush=True)
        time.sleep(0.5)


def print_issues(url: str, keys: dict) -> None:
    issues = httpx.get(f"{url}/api/v1/issues", timeout=10,
                       headers={"Authorization": f"Bearer {keys['read_key']}"}).json()
    print(f"\n{len(issues)} issues:")
    for issue in issues:
        print(f"  #{issue['id']} {issue['kind']:<14} {issue['reports']} report(s)  "
              f"{issue['title']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8270)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "oomlens-data")
    parser.add_argument("--once", action="store_true", help="stop the server after printing")
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    keys = keys_for(data_dir)
    url = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen([*OOMLENS, "serve", "--port", str(args.port), "--data-dir",
                               str(data_dir)], start_new_session=True)
    # the server runs in its own process group (Ctrl-C reaches this script, which stops it
    # cleanly); a SIGTERM (make killed, a CI timeout) must stop it too, not leave it running
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        try:
            wait_until_up(url, server)
        except OomlensError as exc:
            sys.exit(f"{exc} (is port {args.port} taken? try make run PORT=8271)")
        wait_analysed(url, keys, upload_samples(url, keys))
        print_issues(url, keys)
        print(f"\noomlens is running at {url}/ (data in {data_dir})\n"
              f"  dashboard: {url}/ (log in with the read key, or the admin key to change "
              f"things)\n"
              f"  read key: {keys['read_key']}\n"
              f"  admin key and the others: {data_dir / 'samples-keys.json'}\n"
              f"  API and its documentation: {url}/docs", flush=True)
        if not args.once:
            print("Ctrl-C stops it.", flush=True)
            server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
