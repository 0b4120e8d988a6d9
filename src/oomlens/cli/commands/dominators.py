"""``oomlens dominators DUMP``: the biggest objects by retained size; ``--csv`` for all."""

from __future__ import annotations

import csv

import click
from rich.table import Table

from oomlens.cli.commands.common import computing, dump_options, opened_heap
from oomlens.cli.format import human_bytes, print_json, safe, stdout_console
from oomlens.errors import OomlensError
from oomlens.heap.heap import format_id

CSV_HEADER = ["object_id", "class", "shallow_bytes", "retained_bytes", "dominator_id"]


@click.command("dominators")
@dump_options
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many of the biggest objects to show.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write every strongly reachable object with its retained size and "
                   "immediate dominator to this CSV file.")
def command(dump: str, dump_number: int, as_json: bool, progress: bool | None, top: int,
            csv_path: str | None) -> None:
    """The objects that retain the most memory: the top of the dominator tree (objects no other
    object dominates), biggest first."""
    with opened_heap(dump, dump_number, progress) as heap:
        with computing("computing dominator tree", progress):
            tree = heap.dominator_tree
            total = int(tree.retained[tree.idom == -2].sum())
            rows = [_row(heap, int(i), total) for i in heap.top_dominators(top)]
        if csv_path:
            with computing(f"writing {csv_path}", progress):
                write_csv(heap, csv_path)
    if as_json:
        print_json({"reachable_bytes": total, "top": rows, "csv": csv_path})
        return
    t = Table(title=f"biggest objects ({human_bytes(total)} strongly reachable)",
              title_justify="left")
    for name, justify in (("object", "left"), ("class", "left"), ("shallow", "right"),
                          ("retained", "right"), ("%", "right")):
        t.add_column(name, justify=justify, overflow="fold")
    for r in rows:
        t.add_row(r["object_id"], safe(r["class"]), human_bytes(r["shallow_bytes"]),
                  human_bytes(r["retained_bytes"]), f"{r['percent']:.1f}")
    stdout_console.print(t)
    if csv_path:
        stdout_console.print(f"wrote {safe(csv_path)}")


def _row(heap, index: int, total: int) -> dict:
    o = heap.object_at(index)
    retained = heap.retained_size(o)
    return {"object_id": format_id(o.id), "class": o.class_name, "shallow_bytes": o.shallow_size,
            "retained_bytes": retained, "percent": 100.0 * retained / total if total else 0.0}


def write_csv(heap, csv_path: str) -> None:
    """Every strongly reachable object, in dominator-tree preorder."""
    tree = heap.dominator_tree
    objects = heap.index.objects
    names = heap.index.classes.names
    class_names = [f"class {names[k]}" if k >= 0 else "java.lang.Class"
                   for k in _class_of_class_objects(heap)]
    class_object_name = dict(zip(heap.index.classes.object_index.tolist(), class_names))
    try:
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(CSV_HEADER)
            ids, shallow, retained, idom = objects.ids, objects.shallow, tree.retained, tree.idom
            cls = objects.class_index
            for i in tree.preorder.tolist():
                d = int(idom[i])
                name = class_object_name.get(i) or names[int(cls[i])]
                w.writerow((format_id(ids[i]), name, int(shallow[i]), int(retained[i]),
                            "root" if d == -2 else format_id(ids[d])))
    except OSError as exc:
        raise OomlensError(f"cannot write {csv_path}: {exc.strerror}") from None


def _class_of_class_objects(heap):
    table = heap.index.classes
    return [k if table.object_index[k] >= 0 else -1 for k in range(len(table))]
