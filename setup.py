"""C extensions and the JVM agent's jar (everything else is in pyproject.toml).

The streaming stages that run on a user's device or CI host before upload (strip, and the packed
container it writes) are C, not Numba: loading Numba and LLVM alone takes ~0.3 s and ~90 MB,
more than the whole job is allowed. They need only a C compiler and Python's headers (gcc and
python3-dev on Debian; scripts/install-system-deps.sh installs them when missing).

The capture agent (agent/, plain Java) is compiled with the JDK's javac into
oomlens/capture/oomlens-agent.jar, in the package both for a wheel and for an editable install
(``pip install -e .``, which ``make`` runs). Without a javac the build says so once and goes on:
``oomlens agent path`` then tells the user that this install has no agent.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

C_FLAGS = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"]

HEADERS = ["src/oomlens/hprof/hprof_format.h"]  # the record structure both extensions read

EXTENSIONS = [
    Extension(f"oomlens.hprof.{name}", [f"src/oomlens/hprof/{name}.c"], depends=HEADERS,
              extra_compile_args=C_FLAGS)
    for name in ("_pack", "_rewrite")
]

AGENT_SOURCES = Path(__file__).parent / "agent" / "src"
AGENT_PACKAGE = "oomlens.capture"
AGENT_JAR = "oomlens-agent.jar"
AGENT_CLASS = "oomlens.agent.Agent"


def find_javac() -> str | None:
    """$JAVA_HOME's javac first (the JDK the user chose), else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "javac"), os.X_OK):
        return os.path.join(home, "bin", "javac")
    return shutil.which("javac")


def write_jar(jar: Path, classes: Path, version: str) -> None:
    """The jar written with zipfile rather than the JDK's ``jar`` tool: entries in a fixed
    order with a fixed time, so the same sources always give the same bytes (a reinstall does
    not change the file an app was started with unless the agent changed)."""
    manifest = "".join(f"{key}: {value}\r\n" for key, value in (
        ("Manifest-Version", "1.0"), ("Premain-Class", AGENT_CLASS), ("Agent-Class", AGENT_CLASS),
        ("Main-Class", "oomlens.agent.Help"), ("Implementation-Title", "oomlens-agent"),
        ("Implementation-Version", version))) + "\r\n"
    entries = [("META-INF/MANIFEST.MF", manifest.encode())]
    entries += [(p.relative_to(classes).as_posix(), p.read_bytes())
                for p in sorted(classes.rglob("*.class"))]
    jar.parent.mkdir(parents=True, exist_ok=True)
    partial = jar.with_name(jar.name + ".partial")
    with zipfile.ZipFile(partial, "w") as out:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, data)
    partial.replace(jar)


def build_agent_jar(jar: Path, version: str) -> None:
    """Compile agent/ for Java 8 and up (``--release 8``) into ``jar``; a compile error fails
    the build, a missing JDK is one warning."""
    javac = find_javac()
    if javac is None:
        print(f"warning: no javac found (JAVA_HOME or PATH): oomlens is built without {AGENT_JAR}"
              "; install a JDK and reinstall oomlens to get the capture agent", file=sys.stderr)
        return
    sources = sorted(str(p) for p in AGENT_SOURCES.rglob("*.java"))
    with tempfile.TemporaryDirectory() as classes:
        subprocess.run([javac, "--release", "8", "-encoding", "UTF-8", "-d", classes, *sources],
                       check=True)
        write_jar(jar, Path(classes), version)


class BuildPyWithAgent(build_py):
    """build_py, then the agent's jar into the package: into build/ for a wheel, into src/ for
    an editable install (where build_py itself copies nothing)."""

    def run(self):
        super().run()
        if self.editable_mode:
            target = Path(self.get_package_dir(AGENT_PACKAGE))
        else:
            target = Path(self.build_lib, *AGENT_PACKAGE.split("."))
        build_agent_jar(target / AGENT_JAR, self.distribution.get_version())


setup(ext_modules=EXTENSIONS, cmdclass={"build_py": BuildPyWithAgent})
