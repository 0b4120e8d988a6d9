"""The object-access API over a heap index: classes, instances, field values, strings.

``HeapObject`` and ``HeapClass`` are thin handles (a heap and an index) created on demand: the
heap never holds one Python object per heap object.
"""

from __future__ import annotations

import os
from functools import cached_property
from collections.abc import Iterator

import numpy as np

from oomlens.errors import ObjectNotFoundError
from oomlens.ids import format_id, parse_id
from oomlens.heap.graph import reverse_edges
from oomlens.heap.index import HeapIndex, build_heap_index
from oomlens.heap.layout import instance_sizes
from oomlens.heap.objects import KIND_NAMES
from oomlens.heap.values import primitive_array, read_id, read_primitive
from oomlens.hprof import constants as C
from oomlens.hprof.records import Progress
from oomlens.hprof.scan import (KIND_CLASS, KIND_INSTANCE, KIND_OBJECT_ARRAY,
                                KIND_PRIMITIVE_ARRAY, data_offset)

class Heap:
    """One heap dump, indexed. Open with ``oomlens.open_heap(path)``; close when done."""

    def __init__(self, index: HeapIndex):
        self.index = index
        self._data = index.file.data
        self._id_size = index.file.header.id_size
        self.retrace: dict | None = None  # what a mapping renamed (retrace.apply.apply_mapping)

    @classmethod
    def open(cls, path: str | os.PathLike, dump_number: int = 0,
             progress: Progress | None = None) -> Heap:
        return cls(build_heap_index(path, dump_number, progress))

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self._data = None
        self.index.file.close()

    def __enter__(self) -> Heap:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- whole-dump facts ------------------------------------------------------------------
    @property
    def header(self):
        return self.index.file.header

    @property
    def id_size(self) -> int:
        return self._id_size

    @property
    def runtime(self) -> str:
        return self.index.size_model.runtime

    @property
    def object_count(self) -> int:
        return len(self.index.objects)

    @property
    def warnings(self) -> list[str]:
        return self.index.warnings

    @property
    def heap_names(self) -> list[str]:
        return self.index.heap_names

    # -- classes ---------------------------------------------------------------------------
    def classes(self) -> Iterator[HeapClass]:
        for k in range(len(self.index.classes)):
            yield HeapClass(self, k)

    def class_at(self, class_index: int) -> HeapClass:
        return HeapClass(self, class_index)

    def classes_named(self, name: str) -> list[HeapClass]:
        """Every class with this name (several class loaders may each load one)."""
        return [HeapClass(self, k) for k in self.index.classes.by_name(name)]

    def find_class(self, name: str) -> HeapClass | None:
        found = self.classes_named(name)
        return found[0] if found else None

    @cached_property
    def _subclass_lists(self) -> list[list[int]]:
        children: list[list[int]] = [[] for _ in range(len(self.index.classes))]
        for k, s in enumerate(self.index.classes.super_index):
            if s >= 0:
                children[int(s)].append(k)
        return children

    def class_indices_with_subclasses(self, class_indices) -> np.ndarray:
        result, todo = set(), list(class_indices)
        while todo:
            k = todo.pop()
            if k not in result:
                result.add(k)
                todo.extend(self._subclass_lists[k])
        return np.array(sorted(result), np.int32)

    def instance_indices(self, class_name: str, subclasses: bool = True) -> np.ndarray:
        """Indices of the objects of a class (and, by default, of its subclasses)."""
        return self.instance_indices_of(self.index.classes.by_name(class_name), subclasses)

    def instance_indices_of(self, class_indices, subclasses: bool) -> np.ndarray:
        """Indices of the instances (class objects excepted) of these classes."""
        if subclasses:
            class_indices = self.class_indices_with_subclasses(class_indices)
        objects = self.index.objects
        mask = np.isin(objects.class_index, np.asarray(class_indices, np.int32))
        mask &= objects.kind != KIND_CLASS
        return np.nonzero(mask)[0]

    def instances_of(self, class_name: str, subclasses: bool = True) -> list[HeapObject]:
        return [HeapObject(self, int(i)) for i in self.instance_indices(class_name, subclasses)]

    # -- objects ---------------------------------------------------------------------------
    def object(self, object_id: int | str) -> HeapObject:
        if isinstance(object_id, str):
            object_id = parse_id(object_id)
        i = self.index.objects.index_of(object_id)
        if i < 0:
            raise ObjectNotFoundError(f"no object with id {format_id(object_id)} in this dump")
        return HeapObject(self, i)

    def object_at(self, index: int) -> HeapObject:
        return HeapObject(self, index)

    def class_name_of(self, index: int) -> str:
        o = self.index.objects
        if o.kind[index] == KIND_CLASS:
            k = self.class_index_of_class_object(index)
            return f"class {self.index.classes.names[k]}" if k >= 0 else "java.lang.Class"
        return self.index.classes.names[int(o.class_index[index])]

    def class_index_of_class_object(self, index: int) -> int:
        return self.index.classes.find_by_id(int(self.index.objects.ids[index]))

    @cached_property
    def referrer_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(rbegin, sources): who references each object over strong edges, built on first
        use (holder searches walk upwards from many objects, hop by hop)."""
        g = self.index.graph
        return reverse_edges(g.begin, g.targets, self.object_count)

    def referrers_of(self, index: int) -> np.ndarray:
        rbegin, sources = self.referrer_index
        return sources[rbegin[index]:rbegin[index + 1]]

    # -- names -----------------------------------------------------------------------------
    def field_name(self, field_slot: int) -> str:
        """Name of a declared instance field (a slot of the class table's field arrays)."""
        renamed = self._renamed_fields.get(field_slot)
        if renamed is not None:
            return renamed
        return self.index.names.require(int(self.index.classes.field_name[field_slot]), "field")

    def static_field_name(self, static_slot: int) -> str:
        renamed = self._renamed_statics.get(static_slot)
        if renamed is not None:
            return renamed
        return self.index.names.require(int(self.index.classes.static_name[static_slot]),
                                        "field")

    @cached_property
    def _renamed_fields(self) -> dict[int, str]:
        return {}

    @cached_property
    def _renamed_statics(self) -> dict[int, str]:
        return {}

    def apply_mapping(self, mapping) -> dict:
        """Show the original names of an obfuscated build everywhere: class names, instance and
        static field names, as ``mapping`` (``retrace.mapping.Mapping``: ``class_name(name)``,
        ``field_name(class, field, basic type)``) gives them. Call before analysing (the checks
        that catch a wrong mapping are in ``retrace.apply.apply_mapping``). Returns how many
        classes and fields got another name."""
        t = self.index.classes
        names = self.index.names
        renamed_classes = renamed_fields = 0
        for k, obfuscated in enumerate(list(t.names)):
            if k >= t.real_count and not obfuscated.endswith("[]"):
                continue
            original = mapping.class_name(obfuscated)
            if original != obfuscated:
                t.names[k] = original
                renamed_classes += 1
            for slots, name_ids, types, renamed in (
                    (range(int(t.field_begin[k]), int(t.field_end[k])), t.field_name,
                     t.field_type, self._renamed_fields),
                    (range(int(t.static_begin[k]), int(t.static_end[k])), t.static_name,
                     t.static_type, self._renamed_statics)):
                for f in slots:
                    old = names.require(int(name_ids[f]), "field")
                    new = mapping.field_name(obfuscated, old, int(types[f]))
                    if new is not None and new != old:
                        renamed[f] = new
                        renamed_fields += 1
        self._field_slot_cache.clear()
        return {"classes_renamed": renamed_classes, "fields_renamed": renamed_fields}

    # -- reading values --------------------------------------------------------------------
    @cached_property
    def _field_slot_cache(self) -> dict[int, dict[str, tuple[int, int]]]:
        return {}

    def field_slots(self, class_index: int) -> dict[str, tuple[int, int]]:
        """Field name -> (type code, offset in the instance data) for instances of a class;
        where a subclass hides a superclass's field, the subclass's wins (as in Java source).
        Cached per class: leak rules read a few fields of many instances."""
        cache = self._field_slot_cache
        slots = cache.get(class_index)
        if slots is None:
            t = self.index.classes
            slots, offset = {}, 0
            for k in t.superclass_chain(class_index):
                for f in range(int(t.field_begin[k]), int(t.field_end[k])):
                    code = int(t.field_type[f])
                    slots.setdefault(self.field_name(f), (code, offset))
                    offset += C.value_size(code, self._id_size)
            cache[class_index] = slots
        return slots

    def field_value(self, index: int, name: str, default=None):
        """The value of instance field ``name`` of the object at ``index`` (a HeapObject for a
        reference, None for null), or ``default`` when the object has no such field."""
        objects = self.index.objects
        if int(objects.kind[index]) != KIND_INSTANCE:
            return default
        return self.slot_value(index, self.field_slots(int(objects.class_index[index])).get(name),
                               default)

    def slot_value(self, index: int, slot: tuple[int, int] | None, default=None):
        """The value in ``slot`` ((type code, offset in the instance data), as ``field_slots``
        gives them) of the instance at ``index``, or ``default`` for no slot or a record too
        short to hold it."""
        if slot is None:
            return default
        objects = self.index.objects
        code, offset = slot
        if offset + C.value_size(code, self._id_size) > int(objects.length[index]):
            return default  # a truncated record
        start = int(objects.offset[index]) + data_offset(KIND_INSTANCE, self._id_size)
        return self._value(start + offset, code)

    def _value(self, offset: int, type_code: int):
        if type_code == C.TYPE_OBJECT:
            ref = read_id(self._data, offset, self._id_size)
            if ref == 0:
                return None
            i = self.index.objects.index_of(ref)
            return HeapObject(self, i) if i >= 0 else MissingObject(ref)
        return read_primitive(self._data, offset, type_code)


_NO_FIELD = object()


class MissingObject:
    """A reference to an id the dump does not hold."""

    def __init__(self, object_id: int):
        self.id = object_id

    def __repr__(self) -> str:
        return f"<missing object {format_id(self.id)}>"


class HeapClass:
    def __init__(self, heap: Heap, index: int):
        self.heap = heap
        self.index = index

    def __eq__(self, other) -> bool:
        return isinstance(other, HeapClass) and other.index == self.index

    def __hash__(self) -> int:
        return hash(("class", self.index))

    def __repr__(self) -> str:
        return f"<class {self.name} {format_id(self.id)}>"

    @property
    def _table(self):
        return self.heap.index.classes

    @property
    def name(self) -> str:
        return self._table.names[self.index]

    @property
    def id(self) -> int:
        return int(self._table.ids[self.index])

    @property
    def superclass(self) -> HeapClass | None:
        s = int(self._table.super_index[self.index])
        return HeapClass(self.heap, s) if s >= 0 else None

    @property
    def class_loader(self) -> HeapObject | None:
        loader = int(self._table.loader_id[self.index])
        i = self.heap.index.objects.index_of(loader) if loader else -1
        return HeapObject(self.heap, i) if i >= 0 else None

    @property
    def class_object(self) -> HeapObject | None:
        i = int(self._table.object_index[self.index])
        return HeapObject(self.heap, i) if i >= 0 else None

    def superclass_chain(self) -> list[HeapClass]:
        return [HeapClass(self.heap, k) for k in self._table.superclass_chain(self.index)]

    def subclasses(self) -> list[HeapClass]:
        return [HeapClass(self.heap, int(k)) for k in
                self.heap.class_indices_with_subclasses([self.index]) if k != self.index]

    @property
    def instance_size(self) -> int:
        """Shallow size of one instance, by the size model."""
        return int(instance_sizes(self.heap.index.size_model, self._table)[self.index])

    def declared_fields(self) -> list[tuple[str, str]]:
        """(name, type) of the instance fields this class declares, in dump order."""
        t = self._table
        return [(self.heap.field_name(f),
                 C.TYPE_NAMES.get(int(t.field_type[f]), "?"))
                for f in range(int(t.field_begin[self.index]), int(t.field_end[self.index]))]

    def static_fields(self) -> dict[str, object]:
        t = self._table
        return {self.heap.static_field_name(s):
                self.heap._value(int(t.static_value_offset[s]), int(t.static_type[s]))
                for s in range(int(t.static_begin[self.index]), int(t.static_end[self.index]))}

    def instances(self, subclasses: bool = False) -> list[HeapObject]:
        return [HeapObject(self.heap, int(i))
                for i in self.heap.instance_indices_of([self.index], subclasses)]

    def instance_count(self, subclasses: bool = False) -> int:
        return len(self.heap.instance_indices_of([self.index], subclasses))


class HeapObject:
    """One object of the dump: an instance, an array, or a class object."""

    def __init__(self, heap: Heap, index: int):
        self.heap = heap
        self.index = index

    def __eq__(self, other) -> bool:
        return isinstance(other, HeapObject) and other.index == self.index

    def __hash__(self) -> int:
        return hash(("object", self.index))

    def __repr__(self) -> str:
        return f"<{self.class_name} {format_id(self.id)}>"

    @property
    def _objects(self):
        return self.heap.index.objects

    @property
    def id(self) -> int:
        return int(self._objects.ids[self.index])

    @property
    def kind(self) -> str:
        return KIND_NAMES[int(self._objects.kind[self.index])]

    @property
    def is_class(self) -> bool:
        return int(self._objects.kind[self.index]) == KIND_CLASS

    @property
    def is_array(self) -> bool:
        return int(self._objects.kind[self.index]) in (KIND_OBJECT_ARRAY, KIND_PRIMITIVE_ARRAY)

    @property
    def heap_name(self) -> str | None:
        h = int(self._objects.heap[self.index])
        return self.heap.heap_names[h] if 0 <= h < len(self.heap.heap_names) else None

    @property
    def klass(self) -> HeapClass:
        """The object's class (java.lang.Class for a class object)."""
        return HeapClass(self.heap, int(self._objects.class_index[self.index]))

    @property
    def class_name(self) -> str:
        return self.heap.class_name_of(self.index)

    def as_class(self) -> HeapClass | None:
        """For a class object: the class it is."""
        if not self.is_class:
            return None
        k = self.heap.class_index_of_class_object(self.index)
        return HeapClass(self.heap, k) if k >= 0 else None

    @property
    def shallow_size(self) -> int:
        return int(self._objects.shallow[self.index])

    @property
    def length(self) -> int | None:
        """Element count of an array."""
        return int(self._objects.length[self.index]) if self.is_array else None

    @property
    def _record(self) -> int:
        return int(self._objects.offset[self.index])

    def _data_start(self) -> int:
        return self._record + data_offset(int(self._objects.kind[self.index]), self.heap.id_size)

    # -- instance fields ------------------------------------------------------------------
    def field_layout(self) -> list[tuple[str, int, int, str]]:
        """(field name, type code, offset in the instance data, declaring class) for every
        field of an instance, own fields first, then inherited ones (HPROF order)."""
        if int(self._objects.kind[self.index]) != KIND_INSTANCE:
            return []
        t = self.heap.index.classes
        id_size = self.heap.id_size
        layout, offset = [], 0
        for k in t.superclass_chain(int(self._objects.class_index[self.index])):
            for f in range(int(t.field_begin[k]), int(t.field_end[k])):
                code = int(t.field_type[f])
                layout.append((self.heap.field_name(f), code, offset,
                               t.names[k]))
                offset += C.value_size(code, id_size)
        return layout

    def fields(self) -> list[tuple[str, object]]:
        """(name, value) of every instance field; references are HeapObjects (or None)."""
        start = self._data_start()
        end = int(self._objects.length[self.index])
        return [(name, self.heap._value(start + off, code))
                for name, code, off, _ in self.field_layout()
                if off + C.value_size(code, self.heap.id_size) <= end]

    def __getitem__(self, name: str):
        """The value of an instance field (the most derived one of that name), or of a class
        object's static field."""
        if self.is_class:
            cls = self.as_class()
            statics = cls.static_fields() if cls else {}
            if name in statics:
                return statics[name]
            raise KeyError(name)
        value = self.heap.field_value(self.index, name, _NO_FIELD)
        if value is _NO_FIELD:
            raise KeyError(name)
        return value

    def get(self, name: str, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    # -- arrays -----------------------------------------------------------------------------
    @property
    def element_type(self) -> str | None:
        kind = int(self._objects.kind[self.index])
        if kind == KIND_OBJECT_ARRAY:
            return "object"
        if kind == KIND_PRIMITIVE_ARRAY:
            return C.TYPE_NAMES[int(self._element_code())]
        return None

    def _element_code(self) -> int:
        return int(self.heap.index.classes.element_type[int(self._objects.class_index[self.index])])

    def has_array_data(self) -> bool:
        """False for Android's PRIMITIVE_ARRAY_NODATA arrays, whose elements were left out."""
        return self.heap.index.file.data[self._record] != C.SUB_PRIMITIVE_ARRAY_NODATA

    def elements(self) -> list:
        """Elements of an object array (HeapObjects / None)."""
        if int(self._objects.kind[self.index]) != KIND_OBJECT_ARRAY:
            raise TypeError(f"{self!r} is not an object array")
        start, id_size = self._data_start(), self.heap.id_size
        return [self.heap._value(start + j * id_size, C.TYPE_OBJECT)
                for j in range(self.length)]

    def primitive_values(self) -> np.ndarray:
        """Elements of a primitive array (a NumPy array; empty where the dump left them out)."""
        if int(self._objects.kind[self.index]) != KIND_PRIMITIVE_ARRAY:
            raise TypeError(f"{self!r} is not a primitive array")
        code = self._element_code()
        if not self.has_array_data():
            return np.zeros(0, np.dtype(">u1"))
        return primitive_array(self.heap.index.file.data, self._data_start(), code, self.length)

    # -- strings ----------------------------------------------------------------------------
    def as_string(self) -> str | None:
        """The text of a java.lang.String, or of a char[]/byte[]; None for other objects."""
        from oomlens.heap.strings import decode_string

        return decode_string(self)
