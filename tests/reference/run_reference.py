"""Run VisualVM's heap library over an HPROF dump, for comparison in tests.

Stdlib only.  Compiles ``VisualVMReference.java`` (next to this file) against the
VisualVM heap library installed by Debian's ``visualvm`` package, caches the
classes in a temporary directory keyed by a hash of the source and the jar, and
runs it.

    from tests.reference.run_reference import run_visualvm_reference, visualvm_available

    if visualvm_available():
        out = run_visualvm_reference("dump.hprof.gz", tmp_path / "vvm", retained=True)
        summary = load_summary(out)

Command line: ``python3 tests/reference/run_reference.py DUMP OUTDIR [--retained] [--xmx 2g]``.

Environment overrides: ``OOMLENS_VISUALVM_HOME`` (default ``/usr/share/visualvm``),
``OOMLENS_VVM_CLASS_CACHE`` (directory under which compiled classes are cached).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from collections.abc import Iterator

__all__ = [
    "VisualVMError",
    "visualvm_available",
    "visualvm_heap_jar",
    "visualvm_classpath",
    "run_visualvm_reference",
    "run_visualvm_names",
    "load_summary",
    "load_classes",
    "iter_objects",
]

SOURCE = Path(__file__).resolve().with_name("VisualVMReference.java")
MAIN_CLASS = "VisualVMReference"
DEFAULT_VISUALVM_HOME = "/usr/share/visualvm"
# The heap library's module jar; its version is not part of the name, but match
# loosely (e.g. "...-heap-2.1.jar") in case a packaging adds one.
HEAP_JAR_GLOB = "org-graalvm-visualvm-lib-jfluid-heap*.jar"
GZIP_MAGIC = b"\x1f\x8b"


class VisualVMError(RuntimeError):
    """VisualVM (or java/javac) is missing, or the reference run failed."""


def _visualvm_home() -> Path:
    return Path(os.environ.get("OOMLENS_VISUALVM_HOME", DEFAULT_VISUALVM_HOME))


def visualvm_heap_jar() -> Path | None:
    """The heap library jar found under the VisualVM installation, or None."""
    home = _visualvm_home()
    if not home.is_dir():
        return None
    found = sorted(p for p in home.rglob(HEAP_JAR_GLOB) if p.is_file() and "locale" not in p.parts)
    # Prefer the jar in a "modules" directory (where Debian's package puts it).
    found.sort(key=lambda p: (p.parent.name != "modules", len(p.parts), str(p)))
    return found[0] if found else None


def visualvm_classpath() -> list[Path]:
    """Jars needed to run the reference.

    The heap library depends only on java.base and java.logging (checked with
    ``jdeps``), so its own jar is the whole classpath.
    """
    jar = visualvm_heap_jar()
    if jar is None:
        raise VisualVMError(f"VisualVM heap library ({HEAP_JAR_GLOB}) not found under {_visualvm_home()}")
    return [jar]


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def visualvm_available() -> bool:
    """True when the VisualVM heap jar exists and java (and javac) can be run."""
    return visualvm_heap_jar() is not None and _tool("java") is not None and _tool("javac") is not None


def _cache_root() -> Path:
    override = os.environ.get("OOMLENS_VVM_CLASS_CACHE")
    return Path(override) if override else Path(tempfile.gettempdir())


def _compiled_classes(classpath: list[Path], source: Path = SOURCE,
                      main_class: str = MAIN_CLASS) -> Path:
    """Compile a harness once per (source, jar) and return the class directory."""
    h = hashlib.sha256()
    h.update(source.read_bytes())
    for jar in classpath:
        st = jar.stat()
        h.update(f"\0{jar}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    key = h.hexdigest()[:16]
    target = _cache_root() / f"oomlens-vvm-classes-{key}"
    if (target / f"{main_class}.class").is_file():
        return target

    javac = _tool("javac")
    if javac is None:
        raise VisualVMError("javac not found on PATH")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.tmp-", dir=target.parent))
    try:
        proc = subprocess.run(
            [javac, "-encoding", "UTF-8", "-nowarn", "-d", str(staging),
             "-cp", os.pathsep.join(map(str, classpath)), str(source)],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise VisualVMError(f"javac failed on {source.name}:\n{proc.stderr.strip()}")
        try:
            os.replace(staging, target)  # atomic; loses harmlessly to a concurrent compile
        except OSError:
            if not (target / f"{main_class}.class").is_file():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def run_visualvm_reference(dump_path, out_dir, retained: bool = False, xmx: str = "2g",
                           timeout: float | None = None) -> Path:
    """Run VisualVM's heap library over *dump_path*; write classes.csv,
    objects.csv and summary.json into *out_dir* and return it as a Path.

    A gzip-compressed dump is decompressed to a temporary file first.
    Raises VisualVMError when VisualVM/java is missing or the run fails.
    """
    dump = Path(dump_path)
    out = Path(out_dir)
    if not dump.is_file():
        raise FileNotFoundError(f"no such dump: {dump}")
    classpath = visualvm_classpath()
    java = _tool("java")
    if java is None:
        raise VisualVMError("java not found on PATH")
    classes = _compiled_classes(classpath)
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="oomlens-vvm-dump-") as tmp:
        if _is_gzip(dump):
            name = dump.name[:-3] if dump.name.endswith(".gz") else dump.name + ".hprof"
            plain = Path(tmp) / name
            with gzip.open(dump, "rb") as src, open(plain, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            dump = plain
        cmd = [java, f"-Xmx{xmx}", "-cp", os.pathsep.join([*map(str, classpath), str(classes)]),
               MAIN_CLASS, str(dump), str(out)]
        if retained:
            cmd.append("--retained")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise VisualVMError(f"VisualVM reference timed out after {timeout}s on {dump_path}") from e
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error:" in ln or "Exception" in ln or "Error" in ln]
        detail = (errors or lines or [f"exit status {proc.returncode}"])[-1]
        raise VisualVMError(f"VisualVM reference failed on {dump_path}: {detail}")
    return out


def run_visualvm_names(dump_path, out_json, classes: tuple[str, ...] = (), xmx: str = "1g",
                       timeout: float | None = 600) -> dict:
    """Run VisualVMNames.java (next to this file) over a plain HPROF file: the classes with
    their field names, the field values of the instances of ``classes`` and the threads' stack
    traces, as VisualVM's heap library reads them (see that file). Returns the parsed JSON."""
    classpath = visualvm_classpath()
    java = _tool("java")
    if java is None:
        raise VisualVMError("java not found on PATH")
    compiled = _compiled_classes(classpath, SOURCE.with_name("VisualVMNames.java"),
                                 "VisualVMNames")
    cmd = [java, f"-Xmx{xmx}", "-cp", os.pathsep.join([*map(str, classpath), str(compiled)]),
           "VisualVMNames", str(dump_path), str(out_json), *classes]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise VisualVMError(f"VisualVMNames failed on {dump_path}: "
                            f"{(lines or [f'exit status {proc.returncode}'])[-1]}")
    with open(out_json, encoding="utf-8") as f:
        return json.load(f)


# ---------------------------------------------------------------- reading the outputs

def load_summary(out_dir) -> dict:
    with open(Path(out_dir) / "summary.json", encoding="utf-8") as f:
        return json.load(f)


def load_classes(out_dir) -> list[dict]:
    """classes.csv rows: class_id (int), name, instances (int), shallow_bytes (int)."""
    rows = []
    with open(Path(out_dir) / "classes.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows.append({"class_id": int(r["class_id"], 16), "name": r["name"],
                         "instances": int(r["instances"]), "shallow_bytes": int(r["shallow_bytes"])})
    return rows


def iter_objects(out_dir) -> Iterator[dict]:
    """objects.csv rows: object_id (int), class, shallow_bytes, retained_bytes (-1 if not computed),
    is_gc_root (bool)."""
    with open(Path(out_dir) / "objects.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            yield {"object_id": int(r["object_id"], 16), "class": r["class"],
                   "shallow_bytes": int(r["shallow_bytes"]), "retained_bytes": int(r["retained_bytes"]),
                   "is_gc_root": r["is_gc_root"] == "1"}


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Run VisualVM's heap library over an HPROF dump.")
    ap.add_argument("dump")
    ap.add_argument("out_dir")
    ap.add_argument("--retained", action="store_true", help="also compute retained sizes")
    ap.add_argument("--xmx", default="2g", help="Java heap for the run (default 2g)")
    args = ap.parse_args(argv)
    if not visualvm_available():
        print("VisualVM heap library, java or javac not available", file=sys.stderr)
        return 2
    try:
        out = run_visualvm_reference(args.dump, args.out_dir, retained=args.retained, xmx=args.xmx)
    except (VisualVMError, FileNotFoundError) as e:
        print(e, file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
