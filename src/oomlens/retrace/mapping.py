"""ProGuard and R8 mapping files: obfuscated class, field and method names back to the source's.

The format, one class block after another::

    # compiler: R8                                        <- header comments
    com.example.Feed -> a.b:                              <- class: original -> obfuscated
    # {"id":"sourceFile","fileName":"Feed.kt"}            <- R8 metadata (JSON comment)
        java.util.List cells -> a                         <- field: type name -> obfuscated
        1:4:void refresh(int):12:15 -> b                  <- method (kept for stack frames)
          # {"id":"com.android.tools.r8.synthesized"}
    com.example.Feed$Cell -> a.b$a:                       <- inner classes are classes too

Obfuscated field names are per class: R8 gives ``a`` to fields of many classes, so a field is
looked up by (obfuscated class, obfuscated field).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from oomlens.errors import OomlensError

_CLASS_LINE = re.compile(r"^(\S+) -> (\S+):\s*$")
_FIELD_LINE = re.compile(r"^\s+(\S+) (\S+) -> (\S+)\s*$")
_METHOD_LINE = re.compile(
    r"^\s+(?:(\d+):(\d+):)?(\S+) ([^\s(]+)\(([^)]*)\)(?::(\d+)(?::(\d+))?)? -> (\S+)\s*$")
MAX_LINE = 1 << 16


class MappingError(OomlensError):
    """A file that is not a usable ProGuard/R8 mapping."""


@dataclass
class MethodMapping:
    original: str
    return_type: str
    arguments: str
    obfuscated_lines: tuple[int, int] | None
    original_lines: tuple[int, int] | None


@dataclass
class ClassMapping:
    original: str
    obfuscated: str
    fields: dict[str, str] = field(default_factory=dict)  # obfuscated -> original
    methods: dict[str, list[MethodMapping]] = field(default_factory=dict)  # by obfuscated name
    source_file: str | None = None


@dataclass
class Mapping:
    path: str
    classes: dict[str, ClassMapping]  # by obfuscated name
    compiler: str | None = None

    def class_name(self, obfuscated: str) -> str:
        """The original name of a class, of an array of it (``a.b[]``), or the name itself."""
        dims = 0
        while obfuscated.endswith("[]"):
            obfuscated, dims = obfuscated[:-2], dims + 1
        cls = self.classes.get(obfuscated)
        return (cls.original if cls else obfuscated) + "[]" * dims

    def field_name(self, obfuscated_class: str, obfuscated_field: str) -> str | None:
        """The original name of a field declared by the class (None if the mapping does not
        say)."""
        cls = self.classes.get(obfuscated_class)
        return cls.fields.get(obfuscated_field) if cls else None

    def methods(self, obfuscated_class: str, obfuscated_method: str) -> list[MethodMapping]:
        cls = self.classes.get(obfuscated_class)
        return cls.methods.get(obfuscated_method, []) if cls else []


def parse_mapping(text: str, path: str = "<mapping>") -> Mapping:
    """Parse mapping text; a line that fits none of the forms is an error with its number."""
    classes: dict[str, ClassMapping] = {}
    current: ClassMapping | None = None
    compiler = None
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_LINE:
            raise MappingError(f"{path}:{number}: line too long for a mapping file")
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            compiler = compiler or _header_compiler(stripped)
            if current is not None and not line.startswith(" "):
                current.source_file = current.source_file or _source_file(stripped)
            continue
        m = _CLASS_LINE.match(line)
        if m:
            current = ClassMapping(m.group(1), m.group(2))
            if current.obfuscated in classes:
                raise MappingError(f"{path}:{number}: class {current.obfuscated} is mapped twice")
            classes[current.obfuscated] = current
            continue
        if current is None:
            raise MappingError(f"{path}:{number}: not a ProGuard/R8 mapping file "
                               f"(expected 'original.Class -> obfuscated:')")
        m = _METHOD_LINE.match(line)
        if m:
            obf_first, obf_last, ret, name, args, orig_first, orig_last, obf = m.groups()
            lines = (int(obf_first), int(obf_last)) if obf_first else None
            original = None
            if orig_first:
                original = (int(orig_first), int(orig_last or orig_first))
            current.methods.setdefault(obf, []).append(
                MethodMapping(name, ret, args, lines, original))
            continue
        m = _FIELD_LINE.match(line)
        if m:
            current.fields[m.group(3)] = m.group(2)
            continue
        raise MappingError(f"{path}:{number}: cannot read mapping line {stripped[:80]!r}")
    if not classes:
        raise MappingError(f"{path}: not a ProGuard/R8 mapping file (no class lines)")
    return Mapping(path, classes, compiler)


def _header_compiler(comment: str) -> str | None:
    m = re.match(r"#\s*compiler:\s*(\S+)", comment)
    return m.group(1) if m else None


def _source_file(comment: str) -> str | None:
    try:
        data = json.loads(comment[1:].strip())
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("id") == "sourceFile":
        return data.get("fileName")
    return None


def load_mapping(path: str | Path) -> Mapping:
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise MappingError(f"cannot read mapping {path}: {e.strerror or e}") from None
    if b"\0" in raw[:4096]:
        raise MappingError(f"{path}: not a ProGuard/R8 mapping file (binary data)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MappingError(f"{path}: not a ProGuard/R8 mapping file (not UTF-8 text)") from None
    return parse_mapping(text, str(path))
