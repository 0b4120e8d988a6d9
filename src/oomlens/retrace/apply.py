"""Applying a mapping to an opened heap, with the checks that catch the wrong mapping file."""

from __future__ import annotations

import re

from oomlens.analysis.app_code import FRAMEWORK_PREFIXES
from oomlens.retrace.mapping import Mapping, MappingError

# R8 / ProGuard names: every package segment and the class name one to three letters.
_LOOKS_OBFUSCATED = re.compile(r"^(?:[a-zA-Z]{1,3}\.)*[a-zA-Z]{1,3}(?:\$[a-zA-Z0-9]{1,3})*$")
_PRIMITIVES = {"boolean", "byte", "char", "short", "int", "long", "float", "double"}


def obfuscated_names_unknown_to(mapping: Mapping, class_names: list[str]) -> list[str]:
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


def apply_mapping(heap, mapping: Mapping) -> dict:
    """Rename the heap's classes and fields; warn (in the heap's warnings) when obfuscated
    classes remain, and fail when the mapping names no class of this dump at all."""
    unknown = obfuscated_names_unknown_to(mapping, heap.index.classes.names)
    stats = heap.apply_mapping(mapping)
    if stats["mapping_classes_in_dump"] == 0:
        raise MappingError(f"{mapping.path} names no class of this dump: it is the mapping of "
                           "another app or build")
    if unknown:
        heap.warnings.append(
            f"{len(unknown)} classes with obfuscated-looking names (e.g. {unknown[0]}) are not "
            f"in {mapping.path}; they keep their names (is it this build's mapping?)")
    return {"mapping": mapping.path, "compiler": mapping.compiler,
            "obfuscated_classes_not_in_mapping": len(unknown), **stats}
