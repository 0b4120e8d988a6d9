"""``oomlens info DUMP``: what is in the dump, in numbers."""

from __future__ import annotations

import click

from oomlens.cli.commands.common import dump_options, opened_heap
from oomlens.cli.progress import status
from oomlens.cli.format import human_bytes, plural, print_json, safe, stdout_console


@click.command("info")
@dump_options
def command(dump: str, dump_number: int, mapping: str | None, as_json: bool,
            progress: bool | None) -> None:
    """Format, runtime, counts of classes, objects and GC roots, heaps, and how many bytes are
    reachable."""
    with opened_heap(dump, dump_number, progress, mapping) as heap:
        with status("computing reachability", progress):
            summary = heap.summary()
        if heap.retrace is not None:
            summary["retrace"] = heap.retrace
    if as_json:
        print_json(summary)
        return
    render(summary)


class _Rows:
    """Label / value lines, labels aligned: plain text that pipes and greps well."""

    def __init__(self):
        self.rows: list[tuple[str, str]] = []

    def add_row(self, label: str, value: str) -> None:
        self.rows.append((label, value))

    def print(self) -> None:
        width = max(len(label) for label, _ in self.rows)
        for label, value in self.rows:
            stdout_console.print(f"[bold]{label:<{width}}[/]  {value}")


def render(s: dict) -> None:
    t = _Rows()
    size = human_bytes(s["file_bytes"])
    if s["compression"]:
        stored = "packed" if s["compression"] == "packed" else f"{s['compression']}-compressed"
        size = f"{size} {stored}, {human_bytes(s['hprof_bytes'])} of HPROF"
    t.add_row("file", f"{safe(s['file'])} ({size})")
    t.add_row("format", f"{s['format']}, {s['id_size']}-byte ids")
    t.add_row("runtime", s["runtime"])
    t.add_row("size model", safe(s["size_model"]))
    if s["heap_dumps_in_file"] > 1:
        t.add_row("heap dump", f"{s['heap_dump']} of {s['heap_dumps_in_file']}")
    t.add_row("classes", f"{s['classes']:,}")
    t.add_row("instances", f"{s['instances']:,}")
    t.add_row("object arrays", f"{s['object_arrays']:,}")
    t.add_row("primitive arrays", f"{s['primitive_arrays']:,}")
    t.add_row("references", f"{s['references']:,} strong, {s['weak_references']:,} weak"
              + (f", {s['missing_references']:,} to missing ids" if s["missing_references"]
                 else ""))
    roots = ", ".join(f"{k} {v:,}" for k, v in sorted(s["gc_roots_by_kind"].items(),
                                                      key=lambda kv: -kv[1]))
    t.add_row("GC roots", f"{s['gc_roots']:,} ({roots})")
    for name, h in s["heaps"].items():
        t.add_row(f"heap {safe(name)}", f"{plural(h['objects'], 'object')}, "
                  f"{human_bytes(h['bytes'])}")
    t.add_row("shallow size", f"{human_bytes(s['shallow_bytes'])} ({s['shallow_bytes']:,} B)")
    t.add_row("strongly reachable", f"{human_bytes(s['reachable_bytes'])} in "
              f"{plural(s['reachable_objects'], 'object')}")
    for level in ("soft", "weak", "finalizer", "phantom", "unreachable"):
        v = s["by_reachability"][level]
        if v["objects"]:
            label = "unreachable" if level == "unreachable" else f"only via {level} references"
            t.add_row(label, f"{human_bytes(v['bytes'])} in {plural(v['objects'], 'object')}")
    if s["truncated"]:
        t.add_row("truncated", f"yes: {s['missing_bytes']:,} bytes missing at the end")
    if s.get("retrace"):
        r = s["retrace"]
        t.add_row("mapping", f"{safe(r['mapping'])}: {plural(r['classes_renamed'], 'class')} "
                  f"and {plural(r['fields_renamed'], 'field')} renamed")
    t.print()
