"""Leak rules: which objects have ended their lifecycle, and which certainly have not.

A rule names a class (subclasses included) and conditions on its fields (``conditions.py``):
``leaking_when`` makes an instance a leak when it is still strongly reachable;
``not_leaking_when`` lets a trace say an object on the path is alive for sure. The built-in
Android rules are the table below; users add rules for their own classes in the config.

Built-in rules name the class that declares each field they read (``fields``:
``"android.app.Activity.mDestroyed"``), and the field is read as that class sees it
(``fields.FieldReader``): an app's ``MyActivity extends Activity`` that declares a ``mDestroyed``
of its own, or a View subclass with its own ``mContext``, cannot stand in for the framework's
field. A rule without ``fields`` (users' rules) reads each name as Java source in the object's
own class would: the most derived field of that name.

More facts are built in: a class object is never leaking (it lives as long as its class
loader); ``registered_in`` checks that a Service is still registered with the ActivityThread (a
Service the framework forgot but something still holds has leaked); and ``activity_context``
follows a Context field to the Activity it stands for, through ``ContextWrapper.mBase`` at any
depth (a View's context is often a ContextThemeWrapper around a wrapper around the Activity):
the object is leaking when that Activity is destroyed, and the reason names the wrappers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oomlens.analysis import conditions as cond
from oomlens.analysis.fields import FieldReader, split_field
from oomlens.analysis.verdicts import Verdict
from oomlens.errors import OomlensError
from oomlens.hprof.scan import KIND_CLASS, KIND_INSTANCE, KIND_OBJECT_ARRAY

# the verdicts, by the names the rules below use
LEAKING, NOT_LEAKING, UNKNOWN = Verdict.LEAKING, Verdict.NOT_LEAKING, Verdict.UNKNOWN


@dataclass(frozen=True)
class LeakRule:
    name: str
    class_name: str
    leaking_when: str | None = None
    leaking_reason: str = ""
    not_leaking_when: str | None = None
    not_leaking_reason: str = ""
    # "Class.staticField.field...": a collection whose members are alive; an instance that is
    # not in it is leaking, one that is in it is not.
    registered_in: str | None = None
    source: str = "built-in"
    # "Class.field" for every field the conditions read (and registered_in reads after its
    # static field): each is read as that class declares or inherits it. () for users' rules.
    fields: tuple[str, ...] = ()
    # "Class.field" of a Context field: leaking when the Activity it is, or wraps through
    # ContextWrapper.mBase, is destroyed (leaking_reason, plus the wrappers unwrapped).
    activity_context: str | None = None


ACTIVITY_CLASS = "android.app.Activity"
ACTIVITY_DESTROYED = "mDestroyed"
CONTEXT_WRAPPER_CLASS = "android.content.ContextWrapper"
CONTEXT_WRAPPER_BASE = "mBase"
MAX_CONTEXT_WRAPPERS = 32  # real chains are a few deep; more is a damaged or hostile dump


_VIEW = "android.view.View"
_ANDROIDX_FRAGMENT = "androidx.fragment.app.Fragment"

ANDROID_RULES: tuple[LeakRule, ...] = (
    LeakRule("ACTIVITY", ACTIVITY_CLASS,
             "mDestroyed == true", "Activity#mDestroyed is true",
             "mDestroyed == false", "Activity#mDestroyed is false",
             fields=(f"{ACTIVITY_CLASS}.{ACTIVITY_DESTROYED}",)),
    LeakRule("FRAGMENT", "android.app.Fragment",
             "mFragmentManager == null", "Fragment#mFragmentManager is null",
             "mFragmentManager != null", "Fragment#mFragmentManager is not null",
             fields=("android.app.Fragment.mFragmentManager",)),
    LeakRule("SUPPORT_FRAGMENT", "android.support.v4.app.Fragment",
             "mFragmentManager == null", "Fragment#mFragmentManager is null",
             "mFragmentManager != null", "Fragment#mFragmentManager is not null",
             fields=("android.support.v4.app.Fragment.mFragmentManager",)),
    LeakRule("ANDROIDX_FRAGMENT", _ANDROIDX_FRAGMENT,
             'mFragmentManager == null and (mCalled == true or '
             'mLifecycleRegistry.mState == "DESTROYED")',
             "Fragment#mFragmentManager is null and the fragment was destroyed",
             "mFragmentManager != null", "Fragment#mFragmentManager is not null",
             fields=(f"{_ANDROIDX_FRAGMENT}.mFragmentManager", f"{_ANDROIDX_FRAGMENT}.mCalled",
                     f"{_ANDROIDX_FRAGMENT}.mLifecycleRegistry",
                     "androidx.lifecycle.LifecycleRegistry.mState")),
    LeakRule("DETACHED_ROOT_VIEW", _VIEW,
             "mParent == null and mAttachInfo == null and mWindowAttachCount > 0",
             "View detached from its window (mAttachInfo is null, mWindowAttachCount > 0)",
             "mAttachInfo != null", "View#mAttachInfo is not null (attached to a window)",
             fields=(f"{_VIEW}.mParent", f"{_VIEW}.mAttachInfo", f"{_VIEW}.mWindowAttachCount")),
    LeakRule("VIEW_OF_DESTROYED_ACTIVITY", _VIEW,
             leaking_reason="View#mContext is a destroyed Activity",
             activity_context=f"{_VIEW}.mContext"),
    LeakRule("WINDOW", "android.view.Window",
             "mDestroyed == true", "Window#mDestroyed is true",
             "mDestroyed == false", "Window#mDestroyed is false",
             fields=("android.view.Window.mDestroyed",)),
    LeakRule("VIEW_ROOT_IMPL", "android.view.ViewRootImpl",
             "mView == null", "ViewRootImpl#mView is null",
             "mView != null", "ViewRootImpl#mView is not null",
             fields=("android.view.ViewRootImpl.mView",)),
    LeakRule("SERVICE", "android.app.Service",
             leaking_reason="Service not in ActivityThread#mServices",
             not_leaking_reason="Service held by ActivityThread#mServices",
             registered_in="android.app.ActivityThread.sCurrentActivityThread.mServices",
             fields=("android.app.ActivityThread.mServices",)),
    LeakRule("VIEW_MODEL", "androidx.lifecycle.ViewModel",
             "mCleared == true", "ViewModel#mCleared is true",
             "mCleared == false", "ViewModel#mCleared is false",
             fields=("androidx.lifecycle.ViewModel.mCleared",)),
    LeakRule("ARCH_VIEW_MODEL", "android.arch.lifecycle.ViewModel",  # before AndroidX
             "mCleared == true", "ViewModel#mCleared is true",
             "mCleared == false", "ViewModel#mCleared is false",
             fields=("android.arch.lifecycle.ViewModel.mCleared",)),
    LeakRule("MESSAGE_QUEUE", "android.os.MessageQueue",
             "mQuitting == true", "MessageQueue#mQuitting is true",
             "mQuitting == false", "MessageQueue#mQuitting is false (the Looper runs)",
             fields=("android.os.MessageQueue.mQuitting",)),
    LeakRule("APPLICATION", "android.app.Application",
             not_leaking_when="always", not_leaking_reason="Application is a singleton"),
    LeakRule("ACTIVITY_THREAD", "android.app.ActivityThread",
             not_leaking_when="always", not_leaking_reason="ActivityThread is a singleton"),
    LeakRule("CLASS_LOADER", "java.lang.ClassLoader",
             not_leaking_when="always", not_leaking_reason="a ClassLoader is never leaking"),
)

_ALWAYS = "always"
_COLLECTION_DEPTH = 6  # map -> table -> node -> next ... -> value
_COLLECTION_PACKAGES = ("java.util.", "android.util.")


class CompiledRule:
    """A rule with its conditions parsed and its classes resolved in one heap."""

    def __init__(self, rule: LeakRule):
        self.rule = rule
        try:
            self.leaking = cond.parse_condition(rule.leaking_when) if rule.leaking_when else None
            self.not_leaking = (cond.parse_condition(rule.not_leaking_when)
                                if rule.not_leaking_when and rule.not_leaking_when != _ALWAYS
                                else None)
        except cond.ConditionError as e:
            raise OomlensError(f"leak rule {rule.name!r} ({rule.source}): {e}") from None
        self.always_alive = rule.not_leaking_when == _ALWAYS
        where = f"leak rule {rule.name!r} ({rule.source})"
        try:
            # field name -> the classes that declare it, for rules that name them
            self.fields: dict[str, list[str]] = {}
            for owner, field in map(split_field, rule.fields):
                self.fields.setdefault(field, []).append(owner)
            self.context = split_field(rule.activity_context) if rule.activity_context else None
        except ValueError as e:
            raise OomlensError(f"{where}: {e}") from None
        if self.fields:
            for node in (self.leaking, self.not_leaking):
                for path in cond.paths_used(node) if node is not None else ():
                    unnamed = [name for name in path if name not in self.fields]
                    if unnamed:
                        raise OomlensError(f"{where}: {unnamed[0]} is read but its class is "
                                           f"not named in fields")


class Inspector:
    """Applies the rules to objects of one heap: candidates for leaks, verdicts for traces."""

    def __init__(self, heap, rules: tuple[LeakRule, ...] | list[LeakRule]):
        self.heap = heap
        self.rules = [CompiledRule(r) for r in rules]
        n_classes = len(heap.index.classes)
        self._rules_of_class: dict[int, list[CompiledRule]] = {}
        for compiled in self.rules:
            for k in heap.class_indices_with_subclasses(
                    heap.index.classes.by_name(compiled.rule.class_name)).tolist():
                self._rules_of_class.setdefault(k, []).append(compiled)
        self.ruled_classes = np.zeros(n_classes, bool)
        self.ruled_classes[list(self._rules_of_class)] = True
        self._registries: dict[str, set[int] | None] = {}
        self.reader = FieldReader(heap)
        self._activity_classes = self._classes_below(ACTIVITY_CLASS)
        self._wrapper_classes = self._classes_below(CONTEXT_WRAPPER_CLASS)

    def _classes_below(self, name: str) -> set[int]:
        return set(self.heap.class_indices_with_subclasses(
            self.heap.index.classes.by_name(name)).tolist())

    # -- reading fields ----------------------------------------------------------------------
    def _field(self, compiled: CompiledRule | None):
        """``field(index, name)``: the value of a field as the rule means it, MISSING when the
        object has none (a rule naming the declaring classes reads only those)."""
        heap = self.heap
        declared = compiled.fields if compiled is not None else None
        if not declared:
            return lambda index, name: heap.field_value(index, name, cond.MISSING)
        reader = self.reader

        def field(index: int, name: str):
            for owner in declared.get(name, ()):
                value = reader.value(index, owner, name, cond.MISSING)
                if value is not cond.MISSING:
                    return value
            return cond.MISSING

        return field

    def _read_path(self, index: int, compiled: CompiledRule | None = None):
        heap = self.heap
        field = self._field(compiled)

        def read(path: tuple[str, ...]):
            current = index
            value = cond.MISSING
            for depth, name in enumerate(path):
                value = field(current, name)
                if value is cond.MISSING or value is None:
                    return value if depth == len(path) - 1 else cond.MISSING
                if depth < len(path) - 1:
                    if not hasattr(value, "index"):
                        return cond.MISSING
                    current = value.index
            return _comparable(heap, value)

        return read

    def _registry(self, compiled: CompiledRule) -> set[int] | None:
        """Objects held in a collection named ``Class.static.field...``: members found through
        the collection's internal arrays and entries (three references deep)."""
        path = compiled.rule.registered_in
        if path not in self._registries:
            self._registries[path] = _registry_members(self.heap, path, self._field(compiled))
        return self._registries[path]

    def activity_of_context(self, value) -> tuple[int | None, list[int]]:
        """The Activity a Context stands for: ``value`` itself when it is an Activity, else
        what ``ContextWrapper.mBase`` leads to, wrapper after wrapper. Returns (the Activity's
        index or None, the wrappers passed on the way). None for a context that is no
        Activity and wraps none (the Application, a ContextImpl), a cycle of wrappers, or more
        than MAX_CONTEXT_WRAPPERS of them."""
        objects = self.heap.index.objects
        wrappers: list[int] = []
        seen: set[int] = set()
        while hasattr(value, "index"):
            index = value.index
            if index in seen or int(objects.kind[index]) != KIND_INSTANCE:
                break
            seen.add(index)
            class_index = int(objects.class_index[index])
            if class_index in self._activity_classes:
                return index, wrappers
            if class_index not in self._wrapper_classes or \
                    len(wrappers) >= MAX_CONTEXT_WRAPPERS:
                break
            wrappers.append(index)
            value = self.reader.value(index, CONTEXT_WRAPPER_CLASS, CONTEXT_WRAPPER_BASE)
        return None, wrappers

    def _destroyed_activity_context(self, compiled: CompiledRule, index: int) -> str | None:
        """The leaking reason when the rule's context field leads to a destroyed Activity."""
        owner, field = compiled.context
        activity, wrappers = self.activity_of_context(self.reader.value(index, owner, field))
        if activity is None or \
                self.reader.value(activity, ACTIVITY_CLASS, ACTIVITY_DESTROYED) is not True:
            return None
        reason = compiled.rule.leaking_reason
        if not wrappers:
            return reason
        names = " > ".join(self.heap.class_name_of(w) for w in wrappers)
        plural = "s" if len(wrappers) > 1 else ""
        return (f"{reason}, unwrapped from {len(wrappers)} ContextWrapper{plural} "
                f"({CONTEXT_WRAPPER_BASE}): {names}")

    # -- judging -----------------------------------------------------------------------------
    def judge(self, index: int) -> tuple[str, str]:
        """(verdict, reason) for one object by the rules alone (traces add more)."""
        objects = self.heap.index.objects
        if int(objects.kind[index]) == KIND_CLASS:
            return NOT_LEAKING, "a class is never leaking"
        rules = self._rules_of_class.get(int(objects.class_index[index]))
        if not rules:
            return UNKNOWN, ""
        alive_reasons = []
        for compiled in rules:
            verdict, reason = self._apply(compiled, index)
            if verdict == LEAKING:
                return LEAKING, reason
            if verdict == NOT_LEAKING:
                alive_reasons.append(reason)
        if alive_reasons:
            return NOT_LEAKING, "; ".join(alive_reasons)
        return UNKNOWN, ""

    def _apply(self, compiled: CompiledRule, index: int) -> tuple[str, str]:
        """(verdict, reason) by one rule."""
        rule = compiled.rule
        leaking = (LEAKING, rule.leaking_reason)
        alive = (NOT_LEAKING, rule.not_leaking_reason)
        if compiled.always_alive:
            return alive
        if rule.registered_in:
            members = self._registry(compiled)
            if members is None:
                return UNKNOWN, ""
            return alive if index in members else leaking
        if compiled.context is not None:
            reason = self._destroyed_activity_context(compiled, index)
            if reason is not None:
                return LEAKING, reason
        read = self._read_path(index, compiled)
        if compiled.leaking is not None and cond.evaluate(compiled.leaking, read) is True:
            return leaking
        if compiled.not_leaking is not None and \
                cond.evaluate(compiled.not_leaking, read) is True:
            return alive
        return UNKNOWN, ""

    def leaking_objects(self, candidates: np.ndarray) -> dict[int, tuple[str, str]]:
        """Among ``candidates`` (object indices), those a rule calls leaking:
        index -> (rule name, reason)."""
        objects = self.heap.index.objects
        found: dict[int, tuple[str, str]] = {}
        mask = self.ruled_classes[objects.class_index[candidates]] & \
            (objects.kind[candidates] == KIND_INSTANCE)
        for index in candidates[mask].tolist():
            for compiled in self._rules_of_class[int(objects.class_index[index])]:
                if compiled.always_alive:
                    continue
                verdict, reason = self._apply(compiled, index)
                if verdict == LEAKING:
                    found[index] = (compiled.rule.name, reason)
                    break
        return found


def _comparable(heap, value):
    """Field values as conditions compare them: Strings as text, enum constants by name."""
    if not hasattr(value, "index"):
        return value
    name = heap.class_name_of(value.index)
    if name == "java.lang.String":
        text = value.as_string()
        return text if text is not None else value
    class_index = int(heap.index.objects.class_index[value.index])
    if _is_enum(heap, class_index):
        constant = _enum_constant_name(heap, class_index, value.index)
        return constant if constant is not None else value
    return value


def _is_enum(heap, class_index: int) -> bool:
    t = heap.index.classes
    return any(t.names[k] == "java.lang.Enum" for k in t.superclass_chain(class_index))


def _enum_constant_name(heap, class_index: int, index: int) -> str | None:
    """The name of the static field of its enum class that holds this constant. Read from the
    class, not from the constant's ``name`` String, so that it works on dumps whose strings
    were stripped (field names stay) and on obfuscated builds after retracing."""
    t = heap.index.classes
    for k in t.superclass_chain(class_index):  # constants with bodies are subclasses
        if t.names[k] == "java.lang.Enum":
            break
        for field, held in heap.class_at(k).static_fields().items():
            if getattr(held, "index", None) == index:
                return field
    return None


def _registry_members(heap, path: str, field) -> set[int] | None:
    """``field(index, name)`` reads the instance fields after the static one."""
    parts = path.split(".")
    holder = None
    for split in range(len(parts) - 1, 0, -1):  # the longest prefix that names a class
        cls = heap.find_class(".".join(parts[:split]))
        if cls is not None:
            holder, fields = cls, parts[split:]
            break
    if holder is None:
        return None
    value = holder.static_fields().get(fields[0])
    for name in fields[1:]:
        if not hasattr(value, "index"):
            return None
        value = field(value.index, name)
    if not hasattr(value, "index"):
        return None
    return _collection_members(heap, value.index)


def _collection_members(heap, collection: int) -> set[int]:
    """Objects a collection holds: reached through its internal arrays, nodes and entries
    (``java.util`` / ``android.util`` classes), not through the members' own fields."""
    g, objects, names = heap.index.graph, heap.index.objects, heap.index.classes.names
    members, frontier = set(), [collection]
    for _ in range(_COLLECTION_DEPTH):
        nxt = []
        for v in frontier:
            for w in g.successors(v).tolist():
                if w in members or w == collection:
                    continue
                members.add(w)
                kind = int(objects.kind[w])
                if kind == KIND_OBJECT_ARRAY or (
                        kind == KIND_INSTANCE and
                        names[int(objects.class_index[w])].startswith(_COLLECTION_PACKAGES)):
                    nxt.append(w)
        frontier = nxt
    return members
