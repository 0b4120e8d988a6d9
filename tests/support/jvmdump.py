"""Compile a small Java program from tests/java and let it dump its own heap.

The programs build object graphs whose dominators and retained sizes are known by hand, then
call HotSpotDiagnosticMXBean.dumpHeap. Each (program, JVM options) pair is dumped once per test
session.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

JAVA_DIR = Path(__file__).parents[1] / "java"

# Flags that fix the layout the expected sizes are computed for: 64-bit HotSpot, compressed
# oops and class pointers, a young generation big enough that no GC runs before the dump.
DEFAULT_JVM_OPTIONS = ("-Xmx256m", "-Xmn128m", "-XX:+UseSerialGC", "-XX:+UseCompressedOops",
                       "-XX:+UseCompressedClassPointers", "-Xshare:off")


def java_available() -> bool:
    return shutil.which("java") is not None and shutil.which("javac") is not None


def sources_of(name: str) -> list[Path]:
    """tests/java/NAME.java, or every .java file under tests/java/NAME/ for programs that need
    classes in several packages (stand-ins for android.app.Activity and the like). Either way the
    main class is NAME, in the default package."""
    folder = JAVA_DIR / name
    if folder.is_dir():
        return sorted(folder.rglob("*.java"))
    return [JAVA_DIR / f"{name}.java"]


def compile_program(name: str, out_dir: Path) -> Path:
    classes = out_dir / f"{name}-classes"
    if not (classes / f"{name}.class").exists():
        classes.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["javac", "-d", str(classes), *map(str, sources_of(name))],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"javac {name} failed: {result.stderr[-3000:]}")
    return classes


def dump_program(name: str, out_dir: Path, jvm_options=DEFAULT_JVM_OPTIONS,
                 args: tuple[str, ...] = ()) -> Path:
    """Run tests/java/NAME.java; it writes its heap dump to the path given as first argument."""
    classes = compile_program(name, out_dir)
    dump = out_dir / f"{name}-{abs(hash((jvm_options, args))):x}.hprof"
    if not dump.exists():
        run_dump(classes, name, dump, jvm_options, args)
    return dump


def run_dump(classpath: Path, main: str, dump: Path, jvm_options=DEFAULT_JVM_OPTIONS,
             args: tuple[str, ...] = ()) -> Path:
    """Run MAIN from CLASSPATH (a class folder or a jar), which writes its heap dump to DUMP."""
    result = subprocess.run(["java", *jvm_options, "-cp", str(classpath), main, str(dump),
                             *args], capture_output=True, text=True, timeout=300)
    if result.returncode != 0 or not dump.exists():
        raise RuntimeError(f"{main} failed ({result.returncode}): {result.stderr[-2000:]}")
    return dump


def read_facts(dump: Path) -> dict[str, int]:
    """What a program (tests/java/Resources) wrote about itself next to its dump: NAME.facts,
    ``key=value`` lines, for facts a test cannot see in the heap (file descriptor numbers)."""
    lines = Path(f"{dump}.facts").read_text().splitlines()
    return {key: int(value) for key, value in (line.split("=", 1) for line in lines)}


def list_elements(array_list) -> list:
    """The elements of a java.util.ArrayList, read through the Heap API."""
    return array_list["elementData"].elements()[:array_list["size"]]
