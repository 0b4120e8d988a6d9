"""ProGuard and R8 mapping files: obfuscated class, field and method names back to the source's.

The format, one class block after another::

    # compiler: R8                                        <- header comments
    # {"id":"com.android.tools.r8.mapping","version":"2.2"}   <- R8 metadata (JSON comments)
    com.example.Feed -> a.b:                              <- class: original -> obfuscated
    # {"id":"sourceFile","fileName":"Feed.kt"}            <- metadata of the class
        java.util.List cells -> a                         <- field: type name -> obfuscated
        1:4:void refresh(int):12:15 -> b                  <- method, obfuscated lines 1-4 were
          # {"id":"com.android.tools.r8.synthesized"}        source lines 12-15; metadata of it
        5:5:void com.example.Util.log():7:7 -> b          <- inlined from another class
    com.example.Feed$Cell -> a.b$a:                       <- inner classes are classes too

ProGuard writes the same without JSON comments; its method lines give the (unchanged) line range
first, ``12:15:void refresh(int) -> b``, and only inlined code gets a second range.

Obfuscated field names are per class: R8 gives ``a`` to fields of many classes, so a field is
looked up by (obfuscated class, obfuscated field). With aggressive overloading one class may even
have two fields ``a`` of different types; the dump's basic type tells them apart where it can.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from oomlens.errors import OomlensError
from oomlens.hprof import constants as C

_CLASS_LINE = re.compile(r"^(\S+) -> (\S+):\s*$")
_FIELD_LINE = re.compile(r"^\s+(\S+) (\S+) -> (\S+)\s*$")
_METHOD_LINE = re.compile(
    r"^\s+(?:(\d+):(\d+):)?(\S+) ([^\s(]+)\(([^)]*)\)(?::(\d+)(?::(\d+))?)? -> (\S+)\s*$")
_HEADER_KEY = re.compile(r"#\s*([a-z_]+):\s*(.*?)\s*$")
MAX_LINE = 1 << 16
MAX_LINE_NUMBER = (1 << 31) - 1  # source lines are Java ints; a dump's STACK_FRAME has an i4
SYNTHESIZED = "com.android.tools.r8.synthesized"
_BASIC_TYPES = {"boolean": C.TYPE_BOOLEAN, "char": C.TYPE_CHAR, "float": C.TYPE_FLOAT,
                "double": C.TYPE_DOUBLE, "byte": C.TYPE_BYTE, "short": C.TYPE_SHORT,
                "int": C.TYPE_INT, "long": C.TYPE_LONG}


class MappingError(OomlensError):
    """A file that is not a usable ProGuard/R8 mapping."""


def basic_type(java_type: str) -> int:
    """The HPROF basic type a value of this Java type is dumped as (arrays and classes: object)."""
    return _BASIC_TYPES.get(java_type, C.TYPE_OBJECT)


@dataclass
class FieldMapping:
    original: str
    type: str  # Java type as the mapping writes it: "int", "java.lang.String[]"
    metadata: list[dict] = field(default_factory=list)


@dataclass
class MethodMapping:
    original: str  # the method's own name
    return_type: str
    arguments: str  # as written: "int,java.lang.String"
    obfuscated_lines: tuple[int, int] | None
    original_lines: tuple[int, int] | None
    original_class: str | None = None  # set when R8/ProGuard says the code came from elsewhere
    metadata: list[dict] = field(default_factory=list)

    @property
    def synthesized(self) -> bool:
        return any(m.get("id") == SYNTHESIZED for m in self.metadata)

    def covers(self, line: int) -> bool:
        """Whether an obfuscated line number falls in this entry's range."""
        return self.obfuscated_lines is not None and \
            self.obfuscated_lines[0] <= line <= self.obfuscated_lines[1]

    def original_line(self, line: int | None) -> int | None:
        """The source line of an obfuscated line in this entry (None when unknown)."""
        if self.original_lines is None:
            # ProGuard: the range is the source's own (lines are kept, not renumbered)
            return line if self.obfuscated_lines is not None and line and line > 0 else None
        first, last = self.original_lines
        if first <= 0:
            return None  # R8 writes ":0:0" for code without a source line (synthesized)
        if self.obfuscated_lines is None or line is None or line <= 0:
            return first
        start, end = self.obfuscated_lines
        if last - first == end - start:
            return first + (line - start)
        return first  # R8: a range that maps onto one line (or unequal ranges): its first


@dataclass
class ClassMapping:
    original: str
    obfuscated: str
    fields: dict[str, list[FieldMapping]] = field(default_factory=dict)  # by obfuscated name
    methods: dict[str, list[MethodMapping]] = field(default_factory=dict)  # by obfuscated name
    source_file: str | None = None
    metadata: list[dict] = field(default_factory=list)

    @property
    def synthesized(self) -> bool:
        return any(m.get("id") == SYNTHESIZED for m in self.metadata)


@dataclass(frozen=True)
class Frame:
    """One source-level stack frame: what an obfuscated frame was (innermost first when R8
    inlined code into it)."""

    class_name: str
    method: str
    line: int | None
    source_file: str | None


@dataclass
class Mapping:
    path: str
    classes: dict[str, ClassMapping]  # by obfuscated name
    compiler: str | None = None
    compiler_version: str | None = None
    metadata: list[dict] = field(default_factory=list)  # JSON comments of the file header

    @property
    def format_version(self) -> str | None:
        """R8's mapping format version (``com.android.tools.r8.mapping``), None for ProGuard."""
        for m in self.metadata:
            if m.get("id") == "com.android.tools.r8.mapping":
                version = m.get("version")
                return version if isinstance(version, str) else None
        return None

    def class_name(self, obfuscated: str) -> str:
        """The original name of a class, of an array of it (``a.b[]``), or the name itself."""
        dims = 0
        while obfuscated.endswith("[]"):
            obfuscated, dims = obfuscated[:-2], dims + 1
        cls = self.classes.get(obfuscated)
        return (cls.original if cls else obfuscated) + "[]" * dims

    def field_name(self, obfuscated_class: str, obfuscated_field: str,
                   type_code: int | None = None) -> str | None:
        """The original name of a field the class declares, None if the mapping does not say
        (or cannot tell: two fields of this name and basic type). ``type_code`` is the HPROF
        basic type of the field in the dump."""
        cls = self.classes.get(obfuscated_class)
        if cls is None:
            return None
        candidates = cls.fields.get(obfuscated_field)
        if not candidates:
            return None
        if len(candidates) > 1 and type_code is not None:
            candidates = [f for f in candidates if basic_type(f.type) == type_code]
        names = {f.original for f in candidates}
        return names.pop() if len(names) == 1 else None

    def methods(self, obfuscated_class: str, obfuscated_method: str) -> list[MethodMapping]:
        cls = self.classes.get(obfuscated_class)
        return cls.methods.get(obfuscated_method, []) if cls else []

    def retrace_frame(self, obfuscated_class: str, obfuscated_method: str,
                      line: int | None = None) -> list[list[Frame]]:
        """What a stack frame ``obfuscated_class.obfuscated_method`` at ``line`` (None or <= 0:
        unknown) was in the source: one list of frames per candidate, innermost first (code
        inlined into the method comes before it). Several candidates when the mapping cannot
        tell (methods renamed alike, no line to choose with); none when it does not know the
        method."""
        cls = self.classes.get(obfuscated_class)
        if cls is None:
            return []
        entries = cls.methods.get(obfuscated_method, [])
        known_line = line is not None and line > 0
        if known_line:
            chains = _inline_chains([m for m in entries if m.covers(line)])
            if chains:
                return _distinct([[self._frame(cls, m, line) for m in chain]
                                  for chain in chains])
        # No range holds the line: a method of this name without line numbers, or (the line
        # being unknown) any method of this name, seen as its outermost entry.
        unranged = [[m] for m in entries if m.obfuscated_lines is None]
        pool = unranged if unranged or known_line else _inline_chains(entries)
        return _distinct([[self._frame(cls, chain[-1], None)] for chain in pool])

    @staticmethod
    def _frame(cls: ClassMapping, m: MethodMapping, line: int | None) -> Frame:
        owner = m.original_class or cls.original
        return Frame(owner, m.original, m.original_line(line) if line else None,
                     cls.source_file if owner == cls.original else None)


def _inline_chains(entries: list[MethodMapping]) -> list[list[MethodMapping]]:
    """Consecutive entries with the same obfuscated range are one position in the code: the
    inlined methods, innermost first, then the method they were inlined into."""
    chains: list[list[MethodMapping]] = []
    for m in entries:
        if chains and m.obfuscated_lines is not None and \
                chains[-1][-1].obfuscated_lines == m.obfuscated_lines:
            chains[-1].append(m)
        else:
            chains.append([m])
    return chains


def _distinct(candidates: list[list[Frame]]) -> list[list[Frame]]:
    out: list[list[Frame]] = []
    for c in candidates:
        if c not in out:
            out.append(c)
    return out


def parse_mapping(text: str, path: str = "<mapping>") -> Mapping:
    """Parse mapping text; a line that fits none of the forms is an error with its number."""
    classes: dict[str, ClassMapping] = {}
    current: ClassMapping | None = None
    member: FieldMapping | MethodMapping | None = None  # the last member line, for metadata
    mapping = Mapping(path, classes)
    if text.startswith("\ufeff"):
        text = text[1:]
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_LINE:
            raise MappingError(f"{path}:{number}: line too long for a mapping file")
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            data = _json_comment(stripped)
            if current is None:
                _header_comment(mapping, stripped, data)
            elif data is not None:
                if member is not None and line[0].isspace():
                    member.metadata.append(data)
                else:
                    current.metadata.append(data)
                    file_name = data.get("fileName")
                    if data.get("id") == "sourceFile" and isinstance(file_name, str):
                        current.source_file = current.source_file or file_name
            continue
        m = _CLASS_LINE.match(line)
        if m:
            current, member = ClassMapping(m.group(1), m.group(2)), None
            if current.obfuscated in classes:
                raise MappingError(f"{path}:{number}: class {current.obfuscated} is mapped twice")
            classes[current.obfuscated] = current
            continue
        if current is None:
            raise MappingError(f"{path}:{number}: not a ProGuard/R8 mapping file "
                               f"(expected 'original.Class -> obfuscated:', found "
                               f"{stripped[:60]!r})")
        m = _METHOD_LINE.match(line)
        if m:
            obf_first, obf_last, ret, name, args, orig_first, orig_last, obf = m.groups()
            for digits in (obf_first, obf_last, orig_first, orig_last):
                if digits and (len(digits) > 10 or int(digits) > MAX_LINE_NUMBER):
                    raise MappingError(f"{path}:{number}: line number {digits[:12]}"
                                       f"{'...' if len(digits) > 12 else ''} out of range "
                                       f"(at most {MAX_LINE_NUMBER:,})")
            lines = (int(obf_first), int(obf_last)) if obf_first else None
            original = None
            if orig_first:
                original = (int(orig_first), int(orig_last or orig_first))
            owner = None
            if "." in name:  # "com.example.Util.log": code from another class
                owner, name = name.rsplit(".", 1)
                owner = None if owner == current.original else owner
            member = MethodMapping(name, ret, args, lines, original, owner)
            current.methods.setdefault(obf, []).append(member)
            continue
        m = _FIELD_LINE.match(line)
        if m and line[0].isspace():
            name = m.group(2).rsplit(".", 1)[-1]  # R8 qualifies a field moved from elsewhere
            member = FieldMapping(name, m.group(1))
            current.fields.setdefault(m.group(3), []).append(member)
            continue
        raise MappingError(f"{path}:{number}: cannot read mapping line {stripped[:80]!r}")
    if not classes:
        raise MappingError(f"{path}: not a ProGuard/R8 mapping file (no class lines)")
    return mapping


def _json_comment(comment: str) -> dict | None:
    body = comment[1:].strip()
    if not body.startswith("{"):
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json can read
        return None  # a comment that only looks like JSON is still a comment
    return data if isinstance(data, dict) else None


def _header_comment(mapping: Mapping, comment: str, data: dict | None) -> None:
    if data is not None:
        mapping.metadata.append(data)
        return
    m = _HEADER_KEY.match(comment)
    if m and m.group(1) == "compiler":
        mapping.compiler = mapping.compiler or m.group(2) or None
    elif m and m.group(1) == "compiler_version":
        mapping.compiler_version = mapping.compiler_version or m.group(2) or None


def load_mapping(path: str | Path) -> Mapping:
    try:
        raw = Path(path).read_bytes()
    except IsADirectoryError:
        raise MappingError(f"{path}: is a directory, not a mapping file") from None
    except OSError as e:
        raise MappingError(f"cannot read mapping {path}: {e.strerror or e}") from None
    return mapping_from_bytes(raw, str(path))


def mapping_from_bytes(raw: bytes, path: str) -> Mapping:
    """Parse the mapping file ``raw`` (named ``path`` in errors): not empty, text, UTF-8."""
    if not raw.strip():
        raise MappingError(f"{path}: empty file, not a ProGuard/R8 mapping")
    if b"\0" in raw[:4096]:
        raise MappingError(f"{path}: not a ProGuard/R8 mapping file (binary data)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise MappingError(f"{path}:{line}: not a ProGuard/R8 mapping file (not UTF-8 text)"
                           ) from None
    return parse_mapping(text, str(path))
