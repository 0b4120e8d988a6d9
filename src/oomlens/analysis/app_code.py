"""Which classes are "the app's own code".

Signatures and holders are about the app: a leak is the same bug when the app's own references
that hold it are the same, and a big object's holder is the first object of the app on its path.
The app's packages come from the config or ``--app-package``; without them every class outside
the runtime and framework packages below counts as the app.
"""

from __future__ import annotations

FRAMEWORK_PREFIXES = ("java.", "javax.", "sun.", "jdk.", "com.sun.", "android.", "androidx.",
                      "kotlin.", "kotlinx.", "com.android.", "dalvik.", "libcore.", "com.google.",
                      "org.apache.harmony.", "org.json.", "org.xml.", "org.w3c.", "leakcanary.",
                      "com.squareup.leakcanary.")

# Collections: their memory and their members belong to whoever holds the collection.
CONTAINER_PACKAGES = ("java.util.", "android.util.", "android.support.v4.util.",
                      "androidx.collection.", "kotlin.collections.")


def element_class(class_name: str) -> str:
    """``com.example.Cell[][]`` -> ``com.example.Cell``; ``class X`` (a class object) -> ``X``."""
    if class_name.startswith("class "):
        class_name = class_name[len("class "):]
    while class_name.endswith("[]"):
        class_name = class_name[:-2]
    return class_name


class AppPackages:
    """Decides whether a class belongs to the app."""

    def __init__(self, packages: list[str] | tuple[str, ...] = ()):
        self.packages = tuple(p.rstrip(".") for p in packages if p.strip())

    def is_app(self, class_name: str) -> bool:
        name = element_class(class_name)
        if "." not in name and name in ("boolean", "byte", "char", "short", "int", "long",
                                        "float", "double"):
            return False
        if self.packages:
            return any(name == p or name.startswith(p + ".") for p in self.packages)
        return not name.startswith(FRAMEWORK_PREFIXES)

    def describe(self) -> list[str]:
        return list(self.packages)
