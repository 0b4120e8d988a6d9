"""Analysis settings and the TOML config file users write.

Example (every key optional)::

    app_packages = ["com.example"]

    [thresholds]
    big_object_bytes = 1048576       # retained size of a big object
    cluster_min_instances = 10       # a class cluster has more instances than this ...
    cluster_min_bytes = 20971520     # ... retaining more than this, as a set
    large_bitmap_bytes = 1048576
    max_traces = 20                  # leak traces computed per leaking class
    max_big_objects = 50             # big objects listed, biggest first (all are counted)
    max_class_clusters = 20          # class clusters listed, biggest first (all are counted)

    [[leak_rules]]
    class = "com.example.server.Connection"       # subclasses included
    leaking_when = 'closed == true or state == "CLOSED"'
    reason = "Connection is closed"               # optional
    not_leaking_when = "closed == false"          # optional: alive for sure

    [[library_leaks]]                             # references to walk last and report apart
    class = "com.vendor.sdk.Tracker"
    field = "sLastContext"
    static = true
    description = "The vendor SDK keeps the last Context it was given."
    api_min = 26                                  # optional: Build.VERSION.SDK_INT limits,
    api_max = 30                                  # inclusive
    manufacturer = "samsung"                      # optional: Build.MANUFACTURER (or a list)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from oomlens.analysis.conditions import ConditionError, parse_condition
from oomlens.analysis.inspectors import ANDROID_RULES, LeakRule
from oomlens.analysis.known_leaks import LIBRARY_LEAKS, ReferencePattern
from oomlens.errors import OomlensError

_THRESHOLDS = {"big_object_bytes": 1 << 20, "cluster_min_instances": 10,
               "cluster_min_bytes": 20 << 20, "large_bitmap_bytes": 1 << 20, "max_traces": 20,
               "max_big_objects": 50, "max_class_clusters": 20}


class ConfigError(OomlensError):
    """A config file that cannot be used."""


@dataclass
class Settings:
    app_packages: list[str] = field(default_factory=list)
    big_object_bytes: int = _THRESHOLDS["big_object_bytes"]
    cluster_min_instances: int = _THRESHOLDS["cluster_min_instances"]
    cluster_min_bytes: int = _THRESHOLDS["cluster_min_bytes"]
    large_bitmap_bytes: int = _THRESHOLDS["large_bitmap_bytes"]
    max_traces: int = _THRESHOLDS["max_traces"]
    max_big_objects: int = _THRESHOLDS["max_big_objects"]
    max_class_clusters: int = _THRESHOLDS["max_class_clusters"]
    leak_rules: list[LeakRule] = field(default_factory=lambda: list(ANDROID_RULES))
    library_leaks: list[ReferencePattern] = field(default_factory=lambda: list(LIBRARY_LEAKS))
    config_file: str | None = None

    def to_json(self) -> dict:
        return {"app_packages": self.app_packages, "config_file": self.config_file,
                **{name: getattr(self, name) for name in _THRESHOLDS},
                "user_leak_rules": [r.class_name for r in self.leak_rules
                                    if r.source != "built-in"]}


def load_settings(path: str | Path | None = None, app_packages: tuple[str, ...] = ()
                  ) -> Settings:
    """Defaults, then the config file, then command-line app packages (which win)."""
    settings = Settings()
    if path is not None:
        _apply_file(settings, Path(path))
    if app_packages:
        settings.app_packages = list(app_packages)
    return settings


def _apply_file(settings: Settings, path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    settings.config_file = str(path)
    unknown = set(data) - {"app_packages", "thresholds", "leak_rules", "library_leaks"}
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    packages = data.get("app_packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise ConfigError(f"{path}: app_packages must be a list of package names")
    settings.app_packages = packages
    thresholds = data.get("thresholds", {})
    if not isinstance(thresholds, dict):
        raise ConfigError(f"{path}: [thresholds] must be a table")
    for name, value in thresholds.items():
        if name not in _THRESHOLDS:
            raise ConfigError(f"{path}: unknown threshold {name!r}; known: "
                              + ", ".join(sorted(_THRESHOLDS)))
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{path}: threshold {name} must be a non-negative integer")
        setattr(settings, name, value)
    for n, entry in enumerate(_tables(data, "leak_rules", path), 1):
        settings.leak_rules.append(_leak_rule(entry, n, path))
    for n, entry in enumerate(_tables(data, "library_leaks", path), 1):
        settings.library_leaks.append(_library_leak(entry, n, path))


def _tables(data: dict, key: str, path: Path) -> list[dict]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path}: {key} must be an array of tables ([[{key}]])")
    return entries


def _required_text(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key!r} is required (a string)")
    return value


def _leak_rule(entry: dict, n: int, path: Path) -> LeakRule:
    where = f"{path}: leak_rules #{n}"
    unknown = set(entry) - {"class", "leaking_when", "reason", "not_leaking_when",
                            "not_leaking_reason", "name"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    class_name = _required_text(entry, "class", where)
    leaking_when = _required_text(entry, "leaking_when", where)
    not_leaking_when = entry.get("not_leaking_when")
    for text in (leaking_when, not_leaking_when):
        if text is not None:
            try:
                parse_condition(text)
            except ConditionError as e:
                raise ConfigError(f"{where}: {e}") from None
    return LeakRule(entry.get("name", f"USER_RULE_{n}"), class_name, leaking_when,
                    entry.get("reason", f"{class_name.rsplit('.', 1)[-1]}: {leaking_when}"),
                    not_leaking_when,
                    entry.get("not_leaking_reason", f"{not_leaking_when}"),
                    source=str(path))


_LIBRARY_LEAK_KEYS = {"name", "class", "field", "static", "description", "api_min", "api_max",
                      "manufacturer"}


def _library_leak(entry: dict, n: int, path: Path) -> ReferencePattern:
    where = f"{path}: library_leaks #{n}"
    unknown = set(entry) - _LIBRARY_LEAK_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    static = entry.get("static", False)
    if not isinstance(static, bool):
        raise ConfigError(f"{where}: 'static' must be true or false")
    limits = {key: _api_level(entry, key, where) for key in ("api_min", "api_max")}
    if None not in limits.values() and limits["api_min"] > limits["api_max"]:
        raise ConfigError(f"{where}: api_min {limits['api_min']} is above api_max "
                          f"{limits['api_max']}")
    return ReferencePattern(entry.get("name", f"USER_LIBRARY_LEAK_{n}"),
                            _required_text(entry, "class", where),
                            _required_text(entry, "field", where), static,
                            entry.get("description", ""), **limits,
                            manufacturers=_manufacturers(entry, where))


def _api_level(entry: dict, key: str, where: str) -> int | None:
    value = entry.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                              or value < 1):
        raise ConfigError(f"{where}: {key!r} must be an Android API level (an integer, 1 or "
                          f"more), not {value!r}")
    return value


def _manufacturers(entry: dict, where: str) -> tuple[str, ...]:
    """``manufacturer``: one Build.MANUFACTURER value or a list of them (compared ignoring
    case); absent: every manufacturer."""
    value = entry.get("manufacturer")
    if value is None:
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or \
            not all(isinstance(m, str) and m.strip() for m in names):
        raise ConfigError(f"{where}: 'manufacturer' must be a name or a non-empty list of "
                          f"names, as Build.MANUFACTURER says them (\"samsung\", \"LGE\")")
    return tuple(m.strip() for m in names)
