"""``oomlens path DUMP OBJECT_ID``: the shortest strong reference path from a GC root."""

from __future__ import annotations

import click

from oomlens.cli.commands.common import dump_options, opened_heap
from oomlens.cli.progress import status
from oomlens.cli.format import human_bytes, print_json, safe, stdout_console
from oomlens.errors import OomlensError
from oomlens.ids import format_id


MAX_INDENT = 40


@click.command("path")
@dump_options
@click.argument("object_id")
@click.option("--exclude-root", "exclude_roots", multiple=True, metavar="KIND",
              help="Do not start from GC roots of this kind (e.g. jni-global); repeatable.")
def command(dump: str, dump_number: int, mapping: str | None, as_json: bool,
            progress: bool | None, object_id: str, exclude_roots: tuple[str, ...]) -> None:
    """How OBJECT_ID (an id in hex, like 0x7f3a01c8) is kept alive: the shortest chain of strong
    references from a GC root, each step naming the field or array index. Referents of
    soft, weak, phantom and finalizer references are not followed."""
    with opened_heap(dump, dump_number, progress, mapping) as heap:
        target = heap.object(object_id)
        with status("finding shortest strong path", progress):
            steps = heap.path_to(target, exclude_roots)
            if steps is None:
                level = heap.reachability_of(target)
                how = "unreachable" if level == "unreachable" else f"only via {level} references"
                raise OomlensError(
                    f"{format_id(target.id)} ({target.class_name}) is not strongly reachable "
                    f"({how}): no strong path from a GC root keeps it alive")
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
    stdout_console.print(f"GC root ({', '.join(rows[0]['root_kinds'])})")
    for depth, r in enumerate(rows):
        # indented by depth up to MAX_INDENT steps, numbered below that: a path thousands of
        # steps long (a linked list) would otherwise print its square in spaces
        indent = "  " * min(depth, MAX_INDENT) + (f"[{depth}] " if depth > MAX_INDENT else "")
        stdout_console.print(indent + ("└─ " if depth else "") + _via(r["reference"])
                             + f"{safe(r['class'])} {r['object_id']}  "
                             f"[dim](retained {human_bytes(r['retained_bytes'])})[/]")


def _via(reference: str | None) -> str:
    """How the previous step holds this one: ``.field → `` or ``[3] → ``."""
    if not reference:
        return ""
    return f"{'' if reference.startswith('[') else '.'}{safe(reference)} → "
