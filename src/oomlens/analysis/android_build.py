"""Which Android build wrote a dump: ``Build.VERSION.SDK_INT`` and ``Build.MANUFACTURER``.

Both are static fields of framework classes, so every Android heap dump holds them: the int
``android.os.Build$VERSION.SDK_INT`` and the String ``android.os.Build.MANUFACTURER`` (as the
device reports it: "samsung", "LGE", "HUAWEI", "Xiaomi"; "unknown" on an emulator, which is a
value like any other, not a missing one). The known library leaks (``known_leaks``) are limited to
API levels and manufacturers, and a pattern whose limits exclude the dump is not applied.

Either value can be unknown: a dump without ``android.os.Build`` (a JVM, or ART on a host, as
AOSP's ahat test dump), a dump from ``oomlens strip`` (``--level strings``, the default of upload
and watch, removes the characters of every String, so the manufacturer's text is gone while the
String object stays; ``--level all`` zeroes numbers too, and no real build has SDK_INT 0).
Unknown is not a value: nothing is excluded on it (see ``ReferencePattern.applies_in``), and
``why_unknown`` says what was missing so that a report can say which limits went unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass

from oomlens.heap.strings import is_redacted

BUILD_CLASS = "android.os.Build"
VERSION_CLASS = "android.os.Build$VERSION"


@dataclass(frozen=True)
class AndroidBuild:
    sdk_int: int | None = None  # None: unknown
    manufacturer: str | None = None  # None: unknown
    sdk_unknown_why: str = ""  # why sdk_int is None ("" when it is known)
    manufacturer_unknown_why: str = ""

    def describe(self) -> str:
        sdk = f"API {self.sdk_int}" if self.sdk_int is not None else "API level unknown"
        vendor = (f"manufacturer {self.manufacturer!r}" if self.manufacturer is not None
                  else "manufacturer unknown")
        return f"{sdk}, {vendor}"


UNKNOWN_BUILD = AndroidBuild(None, None, "no android.os.Build in the dump",
                             "no android.os.Build in the dump")


def read_android_build(heap) -> AndroidBuild:
    """The build the dump says it comes from (values it does not say are None, with why)."""
    build = _statics(heap, BUILD_CLASS, "MANUFACTURER")
    version = _statics(heap, VERSION_CLASS, "SDK_INT")
    if build is None and version is None:
        return UNKNOWN_BUILD
    sdk, sdk_why = _sdk_int(version)
    manufacturer, manufacturer_why = _manufacturer(build)
    return AndroidBuild(sdk, manufacturer, sdk_why, manufacturer_why)


def _statics(heap, class_name: str, field: str) -> dict | None:
    """The static fields of the first class of that name that has ``field`` (several class
    loaders may each load a class of a name; the framework's is the one with the field)."""
    found = None
    for cls in heap.classes_named(class_name):
        statics = cls.static_fields()
        if field in statics:
            return statics
        found = found if found is not None else statics
    return found


def _sdk_int(statics: dict | None) -> tuple[int | None, str]:
    if statics is None:
        return None, f"no {VERSION_CLASS} in the dump"
    value = statics.get("SDK_INT")
    if isinstance(value, bool) or not isinstance(value, int):
        return None, "Build.VERSION has no SDK_INT"
    if value <= 0:
        return None, f"Build.VERSION.SDK_INT is {value}, removed by oomlens strip --level all"
    return value, ""


def _manufacturer(statics: dict | None) -> tuple[str | None, str]:
    if statics is None:
        return None, f"no {BUILD_CLASS} in the dump"
    if "MANUFACTURER" not in statics:
        return None, "Build has no MANUFACTURER"
    value = statics["MANUFACTURER"]
    if value is None:
        return None, "Build.MANUFACTURER is null"
    text = value.as_string() if hasattr(value, "as_string") else None
    if text is None:
        if hasattr(value, "as_string") and is_redacted(value):
            return None, "Build.MANUFACTURER's text was removed by oomlens strip"
        return None, "Build.MANUFACTURER is not a String the dump holds"
    return text, ""
