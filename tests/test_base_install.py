"""`pip install oomlens` without the server extra, in a fresh virtual environment: what a host
that only strips, analyses and uploads dumps gets. None of the server's packages is installed;
strip, analyze and upload work (the upload goes to a real server of the full install); serve,
worker and project say in one line which extra they need, exit status 2, no traceback.

The project is installed from a copy of its sources (pyproject.toml, setup.py, src/, agent/),
as `pip install /path/to/oomlens` would, from the package index pip is set up with.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DUMP = ROOT / "tests" / "data" / "oracle_jdk8_05_x64.hprof.gz"
# the distributions of the server extra (pyproject.toml), none of which a base install may have
SERVER_DISTRIBUTIONS = ["fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg",
                        "celery", "kombu", "redis", "fsspec", "python-multipart"]
MISSING_EXTRA = "oomlens: error: the server needs its extra: pip install 'oomlens[server]'\n"


def project_sources(target: Path) -> Path:
    """What a source install of oomlens reads, without build products of the work tree."""
    target.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    junk = shutil.ignore_patterns("__pycache__", "*.so", "*.egg-info", "oomlens-agent.jar")
    shutil.copytree(ROOT / "src", target / "src", ignore=junk)
    shutil.copytree(ROOT / "agent", target / "agent", ignore=junk)
    return target


@pytest.fixture(scope="module")
def base_install(tmp_path_factory) -> Path:
    """The bin folder of a fresh venv with oomlens installed without extras."""
    where = tmp_path_factory.mktemp("base-install")
    sources = project_sources(where / "oomlens")
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                str(sources)], capture_output=True, text=True, timeout=1500)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv / "bin"


def run(bin_dir: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OOMLENS_", "PYTHON"))}
    return subprocess.run([str(bin_dir / "oomlens"), *args], capture_output=True, text=True,
                          env=env, timeout=kw.pop("timeout", 600), **kw)


def test_a_base_install_has_none_of_the_servers_packages(base_install):
    for name in SERVER_DISTRIBUTIONS:
        shown = subprocess.run([str(base_install / "python"), "-m", "pip", "show", name],
                               capture_output=True, text=True, timeout=120)
        assert shown.returncode != 0, f"{name} is installed without the server extra"
    probe = "import oomlens.server, sys; print(sorted(m for m in ('fastapi', 'sqlalchemy', " \
            "'celery') if m in sys.modules))"
    imported = subprocess.run([str(base_install / "python"), "-c", probe], capture_output=True,
                              text=True, timeout=120)
    assert imported.stdout == "[]\n", imported.stderr  # the public surface alone loads nothing


def test_strip_and_analyze_work_without_the_server(base_install, tmp_path):
    stripped = tmp_path / "dump.oomp"
    done = run(base_install, "strip", str(DUMP), str(stripped), "--no-progress")
    assert done.returncode == 0, done.stderr
    analysed = run(base_install, "analyze", str(stripped), "--format", "json", "--no-progress")
    assert analysed.returncode == 0, analysed.stderr
    assert json.loads(analysed.stdout)["schema"] == "oomlens.report/1"


def test_a_base_install_uploads_to_a_server(base_install, server):
    keys = server.create_project("base")
    server.start()
    sent = run(base_install, "upload", str(DUMP), "--server", server.url, "--key",
               keys["ingest_key"], "--app-version", "1.0", "--json", "--no-progress")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["id"]


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["worker"],
                                     ["project", "create", "x"]])
def test_the_server_commands_name_the_extra_they_need(base_install, tmp_path, command):
    done = run(base_install, *command, "--data-dir", str(tmp_path / "data"))
    assert (done.returncode, done.stderr, done.stdout) == (2, MISSING_EXTRA, "")
    assert not (tmp_path / "data").exists()  # nothing was started or made
