"""Run the Java programs of tests/java/capture under the capture agent and read what it left in
the spool. tests/capture/test_agent.py uses it, and so do the end-to-end tests of ``oomlens watch`` and
the server: the same programs, arguments and reading of the spool everywhere.

The programs (each documents its arguments): OomLeak (leaks until OutOfMemoryError), HeapHold
(holds a share of the heap, phase by phase, while making garbage), ManyThreads (named worker
threads held by an owner), ManyFiles (open descriptors held by an owner) and CheckCost (what
one threshold check costs).
"""

from __future__ import annotations

import functools
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jvmdump import JAVA_DIR

from oomlens.capture.sidecar import parse_sidecar

CAPTURE_PROGRAMS = JAVA_DIR / "capture"
AGENT_PREFIX = "oomlens-agent: "
# A test setting, not the default (15s): thresholds are seen within a second
TEST_INTERVAL = "200ms"


@functools.cache
def agent_jar() -> Path:
    """The jar of the installed package, found as a user finds it: ``oomlens agent path``."""
    result = subprocess.run([sys.executable, "-m", "oomlens.cli.main", "agent", "path"],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"oomlens agent path failed: {result.stderr.strip()}")
    return Path(result.stdout.strip())


def compile_programs(out_dir: Path) -> Path:
    """tests/java/capture compiled into OUT_DIR/capture-classes (against the agent jar, which
    CheckCost calls); the folder, for ``-cp``."""
    classes = out_dir / "capture-classes"
    if not (classes / "OomLeak.class").exists():
        classes.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["javac", "-cp", str(agent_jar()), "-d", str(classes),
                                 *map(str, sorted(CAPTURE_PROGRAMS.glob("*.java")))],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"javac tests/java/capture failed: {result.stderr[-3000:]}")
    return classes


def agent_argument(spool: Path | str | None, options: dict | None = None) -> str:
    """``spool=...,key=value``: options given as a dict (``heap_checks=3`` -> ``heap-checks=3``;
    ``interval`` defaults to TEST_INTERVAL). ``spool`` None leaves it out."""
    settings = {"interval": TEST_INTERVAL, **(options or {})}
    parts = [] if spool is None else [f"spool={spool}"]
    parts += [f"{key.replace('_', '-')}={value}" for key, value in settings.items()]
    return ",".join(parts)


def java_command(classes: Path, program: str, args=(), *, spool=None, options: dict | None = None,
                 jvm_options=(), argument: str | None = None, limits: str | None = None,
                 agent: Path | None = None) -> list[str]:
    """The command line: ``java JVM_OPTIONS -javaagent:JAR=ARGUMENT -cp CLASSES PROGRAM ARGS``,
    under ``bash -c 'LIMITS; exec ...'`` when ``limits`` (e.g. ``ulimit -n 256``) is given.
    ``argument`` replaces the one made from ``spool`` and ``options``."""
    if argument is None:
        argument = agent_argument(spool, options)
    jar = agent or agent_jar()
    command = ["java", *jvm_options, f"-javaagent:{jar}={argument}" if argument
               else f"-javaagent:{jar}", "-cp", str(classes), program, *map(str, args)]
    if limits:
        return ["bash", "-c", f'{limits} && exec "$@"', "bash", *command]
    return command


@dataclass
class Run:
    """A finished program: exit status, its output, and the agent's lines on stderr."""
    returncode: int
    stdout: str
    stderr: str

    @property
    def agent_lines(self) -> list[str]:
        return [line[len(AGENT_PREFIX):] for line in self.stderr.splitlines()
                if line.startswith(AGENT_PREFIX)]


def run_under_agent(classes: Path, program: str, *args, timeout: float = 120, env=None,
                    cwd=None, **command) -> Run:
    """Run a program under the agent to its end (``command``: as for java_command)."""
    result = subprocess.run(java_command(classes, program, args, **command), capture_output=True,
                            text=True, timeout=timeout, env=env, cwd=cwd)
    return Run(result.returncode, result.stdout, result.stderr)


def start_under_agent(classes: Path, program: str, *args, env=None, cwd=None,
                      **command) -> subprocess.Popen:
    """Start a program under the agent and return at once (stdout and stderr are pipes)."""
    return subprocess.Popen(java_command(classes, program, args, **command), env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@dataclass
class Capture:
    """One capture in the spool: its base name, dump (None if absent) and sidecar (parsed and
    checked by the reader every receiver uses)."""
    base: str
    dump: Path | None
    sidecar: dict


def completed_captures(spool: Path) -> list[Capture]:
    """Every complete capture (``BASE.json`` and its dump; the JVM's ``java_pid<pid>``
    ones too), oldest name first."""
    found = []
    for json_file in sorted(Path(spool).glob("*.json")):
        base = json_file.name[:-len(".json")]
        dump = json_file.with_name(base + ".hprof")
        sidecar = parse_sidecar(json_file.read_bytes(), str(json_file))
        found.append(Capture(base, dump if dump.exists() else None, sidecar))
    return found


def spool_names(spool: Path) -> list[str]:
    """The spool's files, the agent's hidden state file left out."""
    return sorted(p.name for p in Path(spool).iterdir() if not p.name.startswith("."))
