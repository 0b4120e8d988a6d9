"""Obfuscate a test program with Debian's ProGuard (package proguard-cli) and dump both builds.

ProGuard 6 reads class files up to Java 13 (major version 57). The program is compiled with
``javac --release 11``. ProGuard also needs the JDK's classes as library classes (so that it keeps
the names of methods that override the JDK's), but the installed JDK's are newer; so the modules
the program uses are copied out of ``<java.home>/jmods`` with the class-file version lowered to 57.
ProGuard reads only names, members and the hierarchy of library classes, none of which depend on
that number, and none of that copy reaches the output jar.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from jvmdump import run_dump, sources_of

LIBRARY_MODULES = ("java.base", "java.management", "jdk.management")
PROGUARD_MAX_CLASS_VERSION = 57

# AndroidLeaks: the stand-in framework and LeakCanary classes and the main class keep their
# names (a real app's build keeps the framework's too); the app's own classes are obfuscated.
ANDROID_LEAKS_KEEP = (
    "class AndroidLeaks { public static void main(java.lang.String[]); }",
    "class android.** { *; }",
    "class androidx.** { *; }",
    "class leakcanary.** { *; }",
    "class com.squareup.** { *; }",
)


def proguard_available() -> bool:
    return shutil.which("proguard") is not None


def java_home() -> Path:
    result = subprocess.run(["java", "-XshowSettings:properties", "-version"],
                            capture_output=True, text=True)
    for line in result.stderr.splitlines():
        if line.strip().startswith("java.home ="):
            return Path(line.split("=", 1)[1].strip())
    raise RuntimeError("java does not say its java.home")


def library_jar(out_dir: Path) -> Path:
    """The JDK modules the test programs use, as class files ProGuard 6 can read."""
    jar = out_dir / "jdk-library.jar"
    if jar.exists():
        return jar
    jmods = java_home() / "jmods"
    with zipfile.ZipFile(jar, "w") as out:
        for module in LIBRARY_MODULES:
            with zipfile.ZipFile(jmods / f"{module}.jmod") as jmod:  # a zip after a 4-byte magic
                for info in jmod.infolist():
                    name = info.filename
                    if not name.startswith("classes/") or not name.endswith(".class") or \
                            name.endswith("module-info.class"):
                        continue
                    data = bytearray(jmod.read(info))
                    if int.from_bytes(data[6:8], "big") > PROGUARD_MAX_CLASS_VERSION:
                        data[6:8] = PROGUARD_MAX_CLASS_VERSION.to_bytes(2, "big")
                    out.writestr(name[len("classes/"):], bytes(data))
    return jar


def compile_jar(name: str, out_dir: Path) -> Path:
    """tests/java/NAME compiled for Java 11, in a jar."""
    classes = out_dir / f"{name}-release11"
    classes.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["javac", "--release", "11", "-d", str(classes),
                             *map(str, sources_of(name))], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"javac {name} failed: {result.stderr[-3000:]}")
    jar = out_dir / f"{name}.jar"
    with zipfile.ZipFile(jar, "w") as out:
        for path in sorted(classes.rglob("*.class")):
            out.write(path, path.relative_to(classes).as_posix())
    return jar


def obfuscate(in_jar: Path, out_dir: Path, keep: tuple[str, ...]) -> tuple[Path, Path]:
    """Run ProGuard: rename everything not kept, shrink and optimise nothing (so every object
    the program makes is still made), keep line numbers (so the mapping has line ranges).
    Returns the obfuscated jar and the mapping (``-printmapping``)."""
    out_jar = out_dir / f"{in_jar.stem}-obfuscated.jar"
    mapping = out_dir / f"{in_jar.stem}.map"
    config = out_dir / f"{in_jar.stem}.pro"
    lines = [f"-injars {in_jar}", f"-outjars {out_jar}", f"-libraryjars {library_jar(out_dir)}",
             "-dontshrink", "-dontoptimize", "-keepattributes SourceFile,LineNumberTable",
             f"-printmapping {mapping}", *(f"-keep {k}" for k in keep)]
    config.write_text("\n".join(lines) + "\n")
    result = subprocess.run(["proguard", f"@{config}"], capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0 or not out_jar.exists():
        raise RuntimeError(f"proguard failed ({result.returncode}): "
                           f"{(result.stdout + result.stderr)[-3000:]}")
    return out_jar, mapping


@dataclass
class Builds:
    plain_jar: Path
    obfuscated_jar: Path
    mapping: Path
    plain_dump: Path
    obfuscated_dump: Path


def android_leaks_builds(out_dir: Path) -> Builds:
    """AndroidLeaks (variant a) built plainly and obfuscated, each run to dump its heap."""
    plain = compile_jar("AndroidLeaks", out_dir)
    obfuscated, mapping = obfuscate(plain, out_dir, ANDROID_LEAKS_KEEP)
    plain_dump = run_dump(plain, "AndroidLeaks", out_dir / "plain.hprof", args=("a",))
    obfuscated_dump = run_dump(obfuscated, "AndroidLeaks", out_dir / "obfuscated.hprof",
                               args=("a",))
    return Builds(plain, obfuscated, mapping, plain_dump, obfuscated_dump)
