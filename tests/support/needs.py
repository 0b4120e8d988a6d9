"""What each test needs from outside Python, found from its code, so that markers never lie.

A marker written by hand goes stale: ``-m "not jvm"`` once still ran tests that compiled Java,
because they reached ``dump_program`` through a helper. So a test's needs are read off the code
it can reach: its function, the fixtures it uses (their whole closure), and, transitively, the
functions and classes of our test modules those name. A reached name or string constant in
``SIGNS`` says what is needed. The fast tier (``make check``: in-process tests needing none of
these) then also refuses to start any program (``refuse_outside_tools``), so a need this misses
fails loudly instead of passing slowly.
"""

from __future__ import annotations

import inspect
import sys
import types
from pathlib import Path

TESTS = Path(__file__).parents[1]

# marker -> what it means (registered in pyproject.toml too)
MARKERS = {
    "jvm": "compiles or runs a Java program (javac, java)",
    "visualvm": "reads dumps with VisualVM's heap library (Debian package visualvm)",
    "browser": "drives headless Chromium (Debian package chromium)",
    "postgres": "talks to PostgreSQL on 127.0.0.1:5432",
    "broker": "talks to Redis or RabbitMQ as a Celery broker",
    "process": "starts a program (an oomlens command, a server, a worker) as a process",
}
# a name (function, fixture, constant) or string constant a test reaches -> its marker
SIGNS = {
    "jvm": {"java", "javac", "dump_program", "java_dumps", "obfuscated_android_leaks",
            "compile_programs", "agent_jar"},
    "visualvm": {"run_visualvm_reference", "run_visualvm_names", "visualvm_available"},
    "browser": {"browser", "launch", "sync_playwright"},
    "postgres": {"postgres_url", "migrated_sessions", "PG_ADMIN"},
    "broker": {"REDIS", "RABBITMQ", "celery_server"},
    "process": {"subprocess", "Popen", "oomlens_cli", "server", "Server", "run_once"},
}
_MARKER_OF = {sign: marker for marker, signs in SIGNS.items() for sign in signs}


def _our_module(module) -> bool:
    path = getattr(module, "__file__", None)
    return path is not None and Path(path).resolve().is_relative_to(TESTS)


def _ours(obj) -> bool:
    """A function or class defined in a module under tests/ (the only code walked)."""
    return _our_module(sys.modules.get(getattr(obj, "__module__", None) or ""))


def _codes(obj):
    """The code objects of a function, or of a class's methods."""
    obj = inspect.unwrap(obj) if callable(obj) else obj
    if isinstance(obj, types.FunctionType):
        yield obj.__code__
    elif isinstance(obj, type):
        for member in vars(obj).values():
            func = getattr(member, "__func__", member)
            if isinstance(func, types.FunctionType):
                yield func.__code__


def _names(code) -> set[str]:
    """Global names and string constants a code object (and those nested in it) uses."""
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, str):
            found.add(const)
        elif isinstance(const, types.CodeType):
            found |= _names(const)
    return found


def needs_of(start: list, namespace_of) -> set[str]:
    """Markers for the functions/classes in ``start`` and all they reach. ``namespace_of(obj)``
    is the globals in which the names ``obj`` uses are looked up."""
    needed: set[str] = set()
    seen: set[int] = set()
    todo = list(start)
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        names = set().union(*(_names(c) for c in _codes(obj)))
        needed |= {_MARKER_OF[n] for n in names if n in _MARKER_OF}
        scope = namespace_of(obj)
        # names used as ``module.name`` of one of our helper modules are looked up there too
        modules = [m for m in (scope.get(n) for n in names)
                   if isinstance(m, types.ModuleType) and _our_module(m)]
        for name in names:
            for target in (scope.get(name), *(getattr(m, name, None) for m in modules)):
                if target is not None and _ours(target) and (inspect.isfunction(target)
                                                             or isinstance(target, type)):
                    todo.append(target)
    return needed


def _globals_of(obj) -> dict:
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    return vars(module) if module else {}


def item_needs(item) -> set[str]:
    """Markers a collected test needs: from its fixtures' names (the whole closure) and from
    the code of the test and of those fixtures."""
    fixtures = set(getattr(item, "fixturenames", ()))
    needed = {_MARKER_OF[f] for f in fixtures if f in _MARKER_OF}
    start = [item.obj] if hasattr(item, "obj") else []
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    for name in fixtures:
        for fixturedef in defs.get(name, ()):
            if _ours(fixturedef.func):
                start.append(fixturedef.func)
    return needed | needs_of(start, _globals_of)


_guarding = False  # set while a test (its setup and teardown included) runs


def refuse_outside_tools() -> None:
    """In the fast tier, a test that starts a program is an error: one that needs a JVM, a
    server or a command without its marker fails at once, naming the program. (Connections to
    the local services are not refused: those tests fail anyway where no service runs.) Only
    while a test runs: pytest-xdist starts its workers as processes too."""
    def hook(event: str, args) -> None:
        if _guarding and event == "subprocess.Popen":
            argv = args[1] if isinstance(args[1], list | tuple) else [args[1]]
            program = Path(str(args[0] or (argv[0] if argv else ""))).name
            raise RuntimeError(f"the fast tier starts no program, but a test started "
                               f"{program}: tests/support/needs.py SIGNS misses what led there")

    sys.addaudithook(hook)


def guarding(on: bool) -> None:
    global _guarding
    _guarding = on
