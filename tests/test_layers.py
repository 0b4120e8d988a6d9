"""The import layers of src/oomlens (README, "Layout"): every module of a layer may import the
layers before it, never one after it, and the command line reaches the server only through its
public surface (``oomlens.server`` itself, not its packages).

Imports are read with ``ast`` from the source, including those inside functions (the command
line imports most things lazily) and under ``if TYPE_CHECKING``. A failure names each
offending import: the file, its line, and the two layers.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

# Lowest first. A module belongs to the layer of the longest prefix that names it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # below every layer: errors, object ids, byte and count wording
    ("foundation", ("oomlens.errors", "oomlens.ids", "oomlens.units")),
    ("hprof", ("oomlens.hprof",)),
    # the client end needs only the file format (strip): `oomlens upload`/`watch` load no analysis
    ("capture", ("oomlens.capture",)),
    ("heap", ("oomlens.heap",)),
    ("analysis", ("oomlens.analysis",)),
    ("retrace", ("oomlens.retrace",)),
    ("config", ("oomlens.config",)),
    # the package itself: __version__ and open_heap (an index, retraced when given a mapping)
    ("open_heap", ("oomlens",)),
    ("report", ("oomlens.report",)),
    ("server.core", ("oomlens.server.core",)),
    ("server.reports", ("oomlens.server.reports",)),
    ("server.issues", ("oomlens.server.issues",)),
    ("server.notify", ("oomlens.server.notify",)),
    ("server.jobs", ("oomlens.server.jobs",)),
    ("server.api+web", ("oomlens.server.api", "oomlens.server.web")),
    # the application and the public surface the command line uses
    ("server", ("oomlens.server",)),
    ("cli", ("oomlens.cli", "oomlens.__main__")),
]
SERVER_SURFACE = "oomlens.server"  # all the command line may import of the server


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_modules(src: Path = SRC) -> dict[str, Path]:
    """Every module of the oomlens package: dotted name -> file."""
    return {module_name(p, src): p for p in sorted((src / "oomlens").rglob("*.py"))}


def imports_of(name: str, source: str, is_package: bool, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) for each oomlens module the source of module ``name`` imports, anywhere in
    it. ``from a import b`` counts as importing ``a.b`` when that is a module (in ``known``),
    else ``a``; relative imports are resolved against ``name``."""
    found = []
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((node.lineno, full if full in known else base))
    return [(line, module) for line, module in found
            if module == "oomlens" or module.startswith("oomlens.")]


def layer_of(module: str) -> int | None:
    """The index in LAYERS of ``module``'s layer (longest matching prefix), None for none."""
    best, length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = index, len(prefix)
    return best


def violations(imports: dict[str, list[tuple[int, str]]],
               files: dict[str, str] | None = None) -> list[str]:
    """One line per import that breaks the layers, given each module's (line, imported module)
    pairs; ``files`` names the file of a module in the messages."""
    files = files or {}
    found = []
    for module, imported in sorted(imports.items()):
        where = files.get(module, module)
        mine = layer_of(module)
        if mine is None:
            found.append(f"{where}: module {module} is in no layer (add it to LAYERS in "
                         "tests/test_layers.py and to the README's Layout)")
            continue
        for line, target in imported:
            theirs = layer_of(target)
            if theirs is None:
                found.append(f"{where}:{line}: {module} imports {target}, which is in no layer")
            elif theirs > mine:
                found.append(f"{where}:{line}: {module} ({LAYERS[mine][0]}) imports {target} "
                             f"({LAYERS[theirs][0]}), a layer after its own")
            elif (LAYERS[mine][0] == "cli" and target.startswith(SERVER_SURFACE + ".")):
                found.append(f"{where}:{line}: {module} (cli) imports {target}: the command "
                             f"line may use only the server's public surface, {SERVER_SURFACE}")
    return found


def package_imports(src: Path = SRC) -> tuple[dict[str, list[tuple[int, str]]], dict[str, str]]:
    modules = source_modules(src)
    known = set(modules)
    imports = {name: imports_of(name, path.read_text(encoding="utf-8"),
                                path.name == "__init__.py", known)
               for name, path in modules.items()}
    return imports, {name: str(path.relative_to(src.parent)) for name, path in modules.items()}


def test_no_module_imports_a_later_layer():
    imports, files = package_imports()
    assert len(imports) > 100  # the whole package was read
    problems = violations(imports, files)
    assert not problems, "imports that break the layers:\n" + "\n".join(problems)


def test_the_layers_are_in_the_readme_in_this_order():
    """The README's Layout lists the layers' folders in LAYERS' order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("```", 2)[1]
    names = {"foundation": "errors.py", "open_heap": "__init__.py", "config": "config.py",
             "server.api+web": "api/", "server": "app.py", "cli": "cli/"}
    positions = []
    for layer, _ in LAYERS:
        folder = names.get(layer, layer.rpartition(".")[2] + "/")
        match = re.search(rf"^  (?:  )?{re.escape(folder)}\s", layout, re.M)
        assert match, f"the README's Layout does not list {folder} ({layer})"
        positions.append((match.start(), layer))
    in_readme = [layer for _, layer in sorted(positions)]
    assert positions == sorted(positions), \
        f"the README's Layout lists the layers in another order: {in_readme}"


# -- the checker itself, on made-up modules ------------------------------------------------------

def test_an_import_of_a_later_layer_is_named():
    problems = violations({"oomlens.heap.index": [(7, "oomlens.hprof.scan"),
                                                  (12, "oomlens.report.text")],
                           "oomlens.hprof.scan": [(3, "oomlens.errors")]},
                          {"oomlens.heap.index": "src/oomlens/heap/index.py"})
    assert problems == ["src/oomlens/heap/index.py:12: oomlens.heap.index (heap) imports "
                        "oomlens.report.text (report), a layer after its own"]


def test_within_the_server_a_lower_package_may_not_import_a_higher_one():
    assert violations({"oomlens.server.core.db": [(1, "oomlens.server.issues.fold")]})
    assert violations({"oomlens.server.reports.mappings": [(1, "oomlens.server.jobs.analyse")]})
    assert not violations({"oomlens.server.jobs.analyse": [(1, "oomlens.server.issues.fold"),
                                                          (2, "oomlens.report.document")]})


def test_the_command_line_uses_only_the_servers_public_surface():
    assert not violations({"oomlens.cli.commands.serve": [(4, "oomlens.server")]})
    problems = violations({"oomlens.cli.commands.serve": [(4, "oomlens.server.core.config")]})
    assert len(problems) == 1 and "oomlens.server.core.config" in problems[0] \
        and "public surface" in problems[0]


def test_a_module_outside_every_layer_fails():
    assert "in no layer" in violations({"elsewhere.thing": []})[0]


def test_imports_are_found_inside_functions_and_relative_ones_resolved():
    source = """
import os
from oomlens.errors import OomlensError

def late():
    from oomlens.report import text
    from . import sibling
    from ..units import human_bytes
"""
    known = {"oomlens.report.text", "oomlens.heap.sibling", "oomlens.units"}
    assert imports_of("oomlens.heap.index", source, False, known) == [
        (3, "oomlens.errors"), (6, "oomlens.report.text"), (7, "oomlens.heap.sibling"),
        (8, "oomlens.units")]


@pytest.mark.parametrize("planted", [
    "from oomlens.server.core import db\n",
    "def command():\n    from oomlens.server.jobs.celery_mode import make_celery\n",
])
def test_a_planted_violation_in_a_copy_of_the_package_is_caught(tmp_path, planted):
    """The whole check on a copy of src/oomlens with one bad import added to the command line."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(SRC / "oomlens", copy / "oomlens",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.jar", "static"))
    target = copy / "oomlens" / "cli" / "commands" / "info.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n" + planted, encoding="utf-8")
    imports, _ = package_imports(copy)
    problems = violations(imports)
    assert len(problems) == 1 and problems[0].startswith("oomlens.cli.commands.info:")
