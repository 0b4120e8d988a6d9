"""Applying a mapping to a heap or a dump's names, with the checks that catch the wrong mapping
file.

The same checks run whether the names are restored in memory (``apply_mapping``, for ``--mapping``)
or written into a new dump (``oomlens deobfuscate``): a mapping that names no class of the dump
is an error; obfuscated-looking classes it does not know, and obfuscated-looking fields of the
classes it renames that it does not list, are counted and reported as a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from oomlens.analysis.app_code import FRAMEWORK_PREFIXES
from oomlens.hprof.rewrite import check_paths
from oomlens.hprof.deobfuscate import plan_renames, read_names, write_dump
from oomlens.hprof.source import DumpFile
from oomlens.retrace.mapping import Mapping, MappingError

# R8 / ProGuard names: every package segment and the class name one to three letters.
_LOOKS_OBFUSCATED = re.compile(r"^(?:[a-zA-Z]{1,3}\.)*[a-zA-Z]{1,3}(?:\$[a-zA-Z0-9]{1,3})*$")
_FIELD_LOOKS_OBFUSCATED = re.compile(r"^[a-zA-Z]{1,3}$")
_PRIMITIVES = {"boolean", "byte", "char", "short", "int", "long", "float", "double"}

# (class name as the dump has it, Java form; [(field name, HPROF basic type)]) for each class:
# its declared instance and static fields.
DumpClasses = Iterable[tuple[str, list[tuple[str, int]]]]


def obfuscated_names_unknown_to(mapping: Mapping, class_names: Iterable[str]) -> list[str]:
    """Class names of the dump that look obfuscated but that the mapping does not know."""
    found = []
    for name in class_names:
        element = name.rstrip("[]")
        if element in mapping.classes or element in _PRIMITIVES or \
                element.startswith(FRAMEWORK_PREFIXES):
            continue
        if _LOOKS_OBFUSCATED.match(element):
            found.append(element)
    return sorted(set(found))


def check_mapping(mapping: Mapping, classes: DumpClasses) -> dict:
    """Match a mapping against the classes of a dump (see ``DumpClasses``). Raises MappingError
    when it names none of them; otherwise returns what did not resolve, as counts for the
    report and one warning line (or None)."""
    names, unresolved_fields = [], []
    present = set()
    for name, fields in classes:
        names.append(name)
        element = name.rstrip("[]")
        cls = mapping.classes.get(element)
        if cls is None:
            continue
        present.add(element)
        if cls.original == cls.obfuscated:
            continue  # a kept class: R8 lists only the members it renamed
        for field_name, type_code in fields:
            if _FIELD_LOOKS_OBFUSCATED.match(field_name) and \
                    mapping.field_name(element, field_name, type_code) is None:
                unresolved_fields.append(f"{cls.original}.{field_name}")
    if not present:
        raise MappingError(f"{mapping.path} names no class of this dump: it is the mapping of "
                           "another app or build")
    unknown = obfuscated_names_unknown_to(mapping, names)
    warning = None
    if unknown or unresolved_fields:
        parts = []
        if unknown:
            parts.append(f"{len(unknown)} class{'es' if len(unknown) > 1 else ''} "
                         f"(e.g. {unknown[0]})")
        if unresolved_fields:
            n = len(unresolved_fields)
            parts.append(f"{n} field{'s' if n > 1 else ''} (e.g. {unresolved_fields[0]})")
        total = len(unknown) + len(unresolved_fields)
        warning = (f"{total} obfuscated-looking name{'s' if total > 1 else ''} could not be "
                   f"resolved with {mapping.path}: {' and '.join(parts)}; they keep their "
                   "names (is it this build's mapping?)")
    return {"mapping": mapping.path, "compiler": mapping.compiler,
            "obfuscated_classes_not_in_mapping": len(unknown),
            "obfuscated_fields_not_in_mapping": len(unresolved_fields),
            "mapping_classes": len(mapping.classes), "mapping_classes_in_dump": len(present),
            "warning": warning}


def heap_classes(heap) -> DumpClasses:
    """The heap's classes with their declared fields, as the dump names them."""
    t = heap.index.classes
    names = heap.index.names
    for k in range(t.real_count):
        fields = [(names.require(int(t.field_name[f]), "field"), int(t.field_type[f]))
                  for f in range(int(t.field_begin[k]), int(t.field_end[k]))]
        fields += [(names.require(int(t.static_name[s]), "field"), int(t.static_type[s]))
                   for s in range(int(t.static_begin[k]), int(t.static_end[k]))]
        yield t.names[k], fields
    for k in range(t.real_count, len(t)):
        yield t.names[k], []


def apply_mapping(heap, mapping: Mapping) -> dict:
    """Rename the heap's classes and fields; fail when the mapping names no class of this dump,
    warn (in the heap's warnings) when obfuscated-looking names remain. Returns the counts the
    report shows (also kept as ``heap.retrace``)."""
    check = check_mapping(mapping, heap_classes(heap))
    warning = check.pop("warning")
    stats = heap.apply_mapping(mapping)
    if warning:
        heap.warnings.append(warning)
    heap.retrace = {**check, "classes_renamed": stats["classes_renamed"],
                    "fields_renamed": stats["fields_renamed"]}
    return heap.retrace


def deobfuscate_dump(dump_path, out_path, mapping: Mapping, compress: bool = False,
                     progress=None) -> dict:
    """Write a copy of a dump with the mapping's class, field and stack-frame names (see
    ``hprof.deobfuscate``). The mapping is checked against the dump first: nothing is written
    when it names no class of it. Returns counts, and warnings for the user."""
    check_paths(Path(dump_path), Path(out_path))
    with DumpFile(dump_path, progress) as dump:
        names = read_names(dump, progress)
        check = check_mapping(mapping, names.classes())
        plan = plan_renames(names, mapping)
        written = write_dump(dump, plan, out_path, compress, progress)
    warning = check.pop("warning")
    warnings = [warning] if warning else []
    if names.truncated:
        warnings.append("the input dump is truncated: its last record was copied as it is")
    if names.unreadable_records:
        warnings.append(f"{names.unreadable_records:,} heap dump records hold unreadable "
                        "sub-records; classes after them in those records keep their names")
    return {**check, "output": str(out_path), "compressed": compress,
            "classes_renamed": plan.classes_renamed, "fields_renamed": plan.fields_renamed,
            "frames_renamed": plan.frames_renamed, "new_strings": len(plan.new_strings),
            "hprof_bytes": written, "warnings": warnings}
