"""``oomlens dominators DUMP``: the biggest objects by retained size; ``--csv`` for all."""

from __future__ import annotations

import click
from rich.table import Table

from oomlens.cli.commands.common import dump_options, opened_heap
from oomlens.cli.progress import status
from oomlens.cli.format import human_bytes, print_json, safe, stdout_console
from oomlens.ids import format_id


@click.command("dominators")
@dump_options
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many of the biggest objects to show.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write every strongly reachable object with its retained size and "
                   "immediate dominator to this CSV file.")
def command(dump: str, dump_number: int, mapping: str | None, as_json: bool,
            progress: bool | None, top: int, csv_path: str | None) -> None:
    """The objects that retain the most memory: the top of the dominator tree (objects no other
    object dominates), biggest first."""
    with opened_heap(dump, dump_number, progress, mapping) as heap:
        with status("computing dominator tree", progress):
            tree = heap.dominator_tree
            total = int(tree.retained[tree.idom == -2].sum())
            rows = [_row(heap, int(i), total) for i in heap.top_dominators(top)]
        if csv_path:
            from oomlens.report.dominator_csv import write_dominator_csv  # loads Numba kernels

            with status(f"writing {csv_path}", progress):
                write_dominator_csv(heap, csv_path)
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
