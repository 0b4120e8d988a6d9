"""``oomlens histogram DUMP``: instances and bytes per class."""

from __future__ import annotations

import click
from rich.table import Table

from oomlens.cli.commands.common import dump_options, opened_heap
from oomlens.cli.progress import status
from oomlens.cli.format import human_bytes, plural, print_json, safe, stdout_console

SORT_KEYS = {"retained": "retained_bytes", "shallow": "shallow_bytes", "instances": "instances",
             "name": "class"}


@click.command("histogram")
@dump_options
@click.option("--top", type=click.IntRange(min=1), default=30, show_default=True,
              help="How many classes to show.")
@click.option("--sort", "sort_by", type=click.Choice(list(SORT_KEYS)), default="retained",
              show_default=True, help="Order of the rows.")
def command(dump: str, dump_number: int, mapping: str | None, as_json: bool,
            progress: bool | None, top: int, sort_by: str) -> None:
    """Per class: instances, shallow bytes and retained bytes (of all its instances together,
    so objects one instance retains through another are counted once)."""
    with opened_heap(dump, dump_number, progress, mapping) as heap:
        with status("computing retained sizes", progress):
            rows = heap.histogram()
            class_objects = heap.class_objects_summary()
            total = int(heap.index.objects.shallow.sum())
    key = SORT_KEYS[sort_by]
    rows.sort(key=lambda r: (r[key], r["class"]) if sort_by == "name"
              else (-r[key], r["class"]))
    shown = rows[:top]
    if as_json:
        print_json({"classes": len(rows), "total_shallow_bytes": total,
                    "class_objects": class_objects,
                    "rows": [{k: v for k, v in r.items() if k != "class_index"} for r in shown]})
        return
    t = Table(title=f"{plural(len(rows), 'class')} with instances, {human_bytes(total)} shallow",
              title_justify="left")
    t.add_column("class", overflow="fold")
    t.add_column("instances", justify="right")
    t.add_column("shallow", justify="right")
    t.add_column("retained", justify="right")
    for r in shown:
        t.add_row(safe(r["class"]), f"{r['instances']:,}", human_bytes(r["shallow_bytes"]),
                  human_bytes(r["retained_bytes"]))
    stdout_console.print(t)
    stdout_console.print(f"class objects: {class_objects['count']:,}, "
                         f"{human_bytes(class_objects['shallow_bytes'])} shallow (statics "
                         f"included), {human_bytes(class_objects['retained_bytes'])} retained")
