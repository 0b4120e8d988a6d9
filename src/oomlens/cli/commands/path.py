"""``oomlens path DUMP OBJECT_ID``: the shortest strong reference path from a GC root."""

from __future__ import annotations

import click

from oomlens.cli.commands.common import computing, dump_options, opened_heap
from oomlens.cli.format import human_bytes, print_json, safe, stdout_console
from oomlens.errors import OomlensError
from oomlens.heap.heap import format_id


@click.command("path")
@dump_options
@click.argument("object_id")
@click.option("--exclude-root", "exclude_roots", multiple=True, metavar="KIND",
              help="Do not start from GC roots of this kind (e.g. jni-global); repeatable.")
def command(dump: str, dump_number: int, as_json: bool, progress: bool | None,
            object_id: str, exclude_roots: tuple[str, ...]) -> None:
    """How OBJECT_ID (hex, e.g. 0x7f3a01c8) is kept alive: the shortest chain of strong
    references from a GC root, each step naming the field or array index. Referents of
    soft, weak, phantom and finalizer references are not followed."""
    with opened_heap(dump, dump_number, progress) as heap:
        target = heap.object(object_id)
        with computing("finding shortest strong path", progress):
            steps = heap.path_to(target, exclude_roots)
            if steps is None:
                level = heap.reachability_of(target)
                raise OomlensError(
                    f"{format_id(target.id)} ({target.class_name}) is not strongly reachable "
                    f"({'only ' + level + 'ly reachable' if level != 'unreachable' else 'unreachable'}"
                    "): no strong path from a GC root keeps it alive")
            rows = []
            for s in steps:
                o = heap.object_at(s.object_index)
                rows.append({"object_id": format_id(o.id), "class": o.class_name,
                             "reference": s.reference or None, "root_kinds": s.root_kinds,
                             "shallow_bytes": o.shallow_size,
                             "retained_bytes": heap.retained_size(o)})
    if as_json:
        print_json({"object_id": format_id(target.id), "path": rows})
        return
    first = rows[0]
    stdout_console.print(f"GC root ({', '.join(first['root_kinds'])})")
    for depth, r in enumerate(rows):
        via = "" if depth == 0 else f".{safe(r['reference'])} → " if not r["reference"].startswith(
            "[") else f"{safe(r['reference'])} → "
        indent = "  " * depth
        stdout_console.print(f"{indent}{'└─ ' if depth else ''}{via}{safe(r['class'])} "
                             f"{r['object_id']}  [dim](retained {human_bytes(r['retained_bytes'])})[/]")
