"""Instance fields read as the class that declares them sees them.

``Heap.field_value(index, name)`` gives the most derived field of that name, as Java source
inside the object's own class would. A rule about a framework class needs the framework's field
instead: when an app's ``MyActivity extends Activity`` declares its own ``boolean mDestroyed``,
the instance has two fields of that name, and only ``android.app.Activity``'s says whether the
framework destroyed the activity. The same holds in the framework itself (Android 4.4's
``ContextThemeWrapper`` declares an ``mBase`` of its own beside ``ContextWrapper``'s).

``FieldReader.value(index, "android.app.Activity", "mDestroyed")`` resolves the field the way
Java resolves ``((Activity) object).mDestroyed``: in the named class if it declares the field,
else in its nearest superclass that does; fields of the same name in subclasses of the named
class are ignored. An object whose class is not the named class nor one of its subclasses has no
such field (``default``).

Instance data in HPROF holds the values of the class's own fields, then its superclass's, up to
``java.lang.Object``; the offset of a declared field is found once per (class, owner, field).
"""

from __future__ import annotations

from oomlens.hprof import constants as C
from oomlens.hprof.scan import KIND_INSTANCE


class FieldReader:
    """Reads declared instance fields of one heap's objects (offsets cached per class)."""

    def __init__(self, heap):
        self.heap = heap
        self._slots: dict[tuple[int, str, str], tuple[int, int] | None] = {}

    def slot(self, class_index: int, owner: str, field: str) -> tuple[int, int] | None:
        """(type code, offset in the instance data) of ``owner.field`` as seen from ``owner``
        in an instance of class ``class_index``; None when the class is not ``owner`` or below
        it, or when neither ``owner`` nor a superclass of it declares ``field``."""
        key = (class_index, owner, field)
        if key not in self._slots:
            self._slots[key] = self._find(class_index, owner, field)
        return self._slots[key]

    def _find(self, class_index: int, owner: str, field: str) -> tuple[int, int] | None:
        heap = self.heap
        t = heap.index.classes
        id_size = heap.id_size
        offset, seen_owner = 0, False
        for k in t.superclass_chain(class_index):
            seen_owner = seen_owner or t.names[k] == owner
            for f in range(int(t.field_begin[k]), int(t.field_end[k])):
                code = int(t.field_type[f])
                if seen_owner and heap.field_name(f) == field:
                    return code, offset
                offset += C.value_size(code, id_size)
        return None

    def value(self, index: int, owner: str, field: str, default=None):
        """The value of ``owner.field`` in the object at ``index`` (a HeapObject, None for
        null, or a primitive), or ``default`` when the object has no such field."""
        heap = self.heap
        objects = heap.index.objects
        if int(objects.kind[index]) != KIND_INSTANCE:
            return default
        return heap.slot_value(index, self.slot(int(objects.class_index[index]), owner, field),
                               default)


def split_field(qualified: str) -> tuple[str, str]:
    """``"android.app.Activity.mDestroyed"`` -> ``("android.app.Activity", "mDestroyed")``."""
    owner, _, field = qualified.rpartition(".")
    if not owner or not field:
        raise ValueError(f"{qualified!r} is not Class.field")
    return owner, field
