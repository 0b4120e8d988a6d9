"""The report for a terminal: the top of each section, leak traces drawn like LeakCanary's.

Reads only the ``oomlens.report/1`` document. Every name comes from an untrusted dump, so all
text goes through ``escape`` (rich's markup escape, and ``errors.one_line``) before it is
printed. A section shows its first ``rows`` rows (leaks: ``traces`` groups, each with a
trace); whatever it leaves out, it says how much and how to see it, since a missing row reads
as "there is none".
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.table import Table

from oomlens.errors import one_line
from oomlens.report.capture_facts import capture_facts
from oomlens.report.cuts import document_cut
from oomlens.report.redaction import redaction_note, thread_values, watch_values
from oomlens.report.sections import section_order
from oomlens.units import human_bytes, plural

ROWS = 10
TRACES = 5
STACK_LINES = 12  # of the OutOfMemoryError's stack trace (all of it is in the JSON and HTML)
SHOW_ALL = "--rows all lists every row"


def escape(text) -> str:
    """Dump text for the terminal: no markup, and no line break or control sequence either."""
    return escape_markup(one_line(text))


def render_text(report: dict, console: Console, rows: int | None = ROWS,
                traces: int | None = TRACES) -> None:
    """Print the report: cause first, then the sections that answer that cause. ``rows`` and
    ``traces`` of None show everything the document holds."""
    _header(report, console)
    for section in section_order(report):
        _SECTIONS[section](report, console, rows, traces)


def _more(console: Console, items: list, limit: int | None, noun: str) -> None:
    """The line under a list cut at ``limit`` rows (None: not cut): how many rows it left out
    and how to see them."""
    left = len(items) - len(items[:limit])
    if left > 0:
        count, nouns = plural(left, noun).split(" ", 1)
        console.print(f"  ... {count} more {nouns} not shown ({SHOW_ALL})")


def _document_cut(report: dict, console: Console, key: str) -> None:
    note = document_cut(report, key)
    if note:
        console.print(f"  {note}")


def _redaction(console: Console, values: list[str], kind: str, indent: str = "  ") -> bool:
    """Explain ``<redacted>`` when ``values`` hold it; whether it did."""
    note = redaction_note(values, kind)
    if note:
        console.print(f"{indent}[dim]{escape(note)}[/]")
    return note is not None


def _title(console: Console, text: str) -> None:
    console.print()
    console.print(f"[bold]{text}[/]")


def _header(report: dict, console: Console) -> None:
    d = report["dump"]
    console.print(f"[bold]oomlens report[/] {escape(d['file'])}: {escape(d['runtime'])}, "
                  f"{human_bytes(d['hprof_bytes'])} HPROF, {plural(d['objects'], 'object')}, "
                  f"{human_bytes(d['reachable_bytes'])} strongly reachable")
    cause = report.get("oom_cause")
    if cause:
        numbers = ", ".join(f"{k} {human_bytes(v) if k.endswith('bytes') else v}"
                            for k, v in cause["numbers"].items())
        console.print(f"OOM cause: [bold]{escape(cause['kind'])}[/] - {escape(cause['summary'])}"
                      + (f" ({escape(numbers)})" if numbers else ""))
        if cause.get("message"):
            console.print(f"  message: {escape(cause['message'])}")
    if report.get("capture"):
        _capture(report["capture"], console)
    s = report["summary"]
    console.print(f"Findings: {plural(s['leaks'], 'leak')} ({plural(s['leaking_objects'], 'object')}"
                  f", {human_bytes(s['leaked_bytes'])}), {plural(s['library_leaks'], 'library leak')}"
                  f", {plural(s['big_objects'], 'big object')}, "
                  f"{plural(s['class_clusters'], 'class cluster')}")


def _capture(capture: dict, console: Console) -> None:
    console.print(f"Trigger: [bold]{escape(capture['trigger'])}[/] - "
                  f"{escape(capture['summary'])}")
    for _, label, text in capture_facts(capture):
        console.print(f"  {label}: {escape(text)}")
    if capture["truncated"]:
        console.print("  [yellow]the capture was cut off: the agent stopped before its dump "
                      "was complete[/]")
    if capture["oom_stack_trace"]:
        lines = capture["oom_stack_trace"].splitlines()
        console.print("  stack trace:")
        for line in lines[:STACK_LINES]:
            console.print(f"    {escape(line)}")
        if len(lines) > STACK_LINES:
            console.print(f"    ... {len(lines) - STACK_LINES} more lines "
                          "(see --format json or html)")


def _leaks(report: dict, console: Console, rows: int, traces: int, key: str = "leaks",
           title: str = "Leaks") -> None:
    groups = report[key]
    _title(console, f"{title} ({len(groups)})" if groups else f"{title}: none")
    explained = False  # the first <redacted> text says where the text went
    for n, group in enumerate(groups[:traces], 1):  # a slice of None is all
        more = (f", {group['untraced_instances']} more not traced"
                if group["untraced_instances"] else "")
        console.print(f"{n}. [bold]{escape(group['class'])}[/]: "
                      f"{plural(group['instances'], 'instance')}{more}, "
                      f"{human_bytes(group['retained_bytes'])} retained - "
                      f"{escape(group['reason'])} [dim]signature {group['signature']}[/]")
        if group["library_leak"]:
            lib = group["library_leak"]
            console.print(f"   known platform leak {escape(lib['pattern'])}: "
                          f"{escape(lib['description'])}")
        for desc in group["watch_descriptions"]:
            console.print(f"   LeakCanary: {escape(desc)}")
        if not explained:
            explained = _redaction(console, watch_values([group]), "watch", "   ")
        shown = group["traces"] if rows is None else group["traces"][:1]
        for trace in shown:
            _trace(console, trace)
        _more(console, group["traces"], len(shown), "trace")
    _more(console, groups, traces, "leak group")


def _library_leaks(report, console, rows, traces) -> None:
    _leaks(report, console, rows, traces, "library_leaks", "Library leaks")


def _trace(console: Console, trace: dict) -> None:
    nodes = trace["nodes"]
    pad = "     "
    console.print(pad + "┬───")
    console.print(pad + f"│ GC Root: {escape(', '.join(trace['root_kinds']))}")
    console.print(pad + "│")
    for i, node in enumerate(nodes):
        last = i == len(nodes) - 1
        bar = " " if last else "│"
        lead = "╰→ " if last else "├─ "
        console.print(pad + lead + f"{escape(node['class'])} {node['kind']} {node['object']}")
        verdict = {"yes": "YES", "no": "NO", "unknown": "UNKNOWN"}[node["leaking"]]
        reason = f" ({escape(node['reason'])})" if node["reason"] else ""
        console.print(pad + bar + f"    Leaking: {verdict}{reason}")
        if last:
            console.print(pad + bar + f"    Retaining {human_bytes(trace['retained_bytes'])}")
            continue
        ref = node["reference"]
        owner = node["class"].removeprefix("class ").rsplit(".", 1)[-1]
        sep = "" if ref["kind"] == "element" else "."
        prefix = "static " if ref["kind"] == "static" else ""
        line = f"    ↓ {prefix}{owner}{sep}{ref['name']}"
        tag = f"  [dim](known platform leak {escape(ref['library_leak'])})[/]" \
            if ref["library_leak"] else ""
        console.print(pad + bar + escape(line) + tag)
        if ref["suspect"]:
            start = len(f"    ↓ {prefix}{owner}{sep}")
            console.print(pad + bar + " " * start + "~" * len(ref["name"]))


def _holders_text(holders: dict[str, int], limit: int = 3) -> str:
    """The three biggest holders as ``Class (count)``, and how many others there are."""
    shown = [f"{name} ({n})" for name, n in list(holders.items())[:limit]]
    others = len(holders) - len(shown)
    return ", ".join(shown) + (f", {others} more" if others else "") if shown else "-"


def _table(title: str, columns: list[tuple[str, str]]) -> Table:
    t = Table(title=title, title_justify="left")
    for name, justify in columns:
        t.add_column(name, justify=justify, overflow="fold")
    return t


def _big_objects(report, console, rows, traces) -> None:
    items = report["big_objects"]
    if not items:
        _title(console, "Big objects: none")
        return
    t = _table(f"Big objects ({report['summary']['big_objects']})", [("object", "left"), ("class", "left"),
                                               ("retained", "right"), ("held by", "left"),
                                               ("nested", "right"), ("largest inside", "left")])
    for b in items[:rows]:
        inside = b["dominates"][0] if b["dominates"] else None
        t.add_row(b["object"], escape(b["class"]), human_bytes(b["retained_bytes"]),
                  escape(b["holder"] or "-"), str(len(b["nested"])),
                  f"{escape(inside['class'])} {human_bytes(inside['retained_bytes'])}"
                  if inside else "-")
    console.print()
    console.print(t)
    _more(console, items, rows, "big object")
    _document_cut(report, console, "big_objects")


def _clusters(report, console, rows, traces) -> None:
    items = report["class_clusters"]
    if not items:
        _title(console, "Class clusters: none")
        return
    t = _table(f"Class clusters ({report['summary']['class_clusters']})", [("class", "left"), ("instances", "right"),
                                                  ("retained (set)", "right"),
                                                  ("held by", "left")])
    for c in items[:rows]:
        owners = "; ".join(f"{o['instances']} by {o['holder']}" for o in c["owners"][:3])
        others = len(c["owners"]) - len(c["owners"][:3])
        t.add_row(escape(c["class"]), f"{c['instances']:,}", human_bytes(c["retained_bytes"]),
                  escape((owners or "-") + (f"; {others} more holders" if others > 0 else "")))
    console.print()
    console.print(t)
    _more(console, items, rows, "class cluster")
    _document_cut(report, console, "class_clusters")


def _bitmaps(report, console, rows, traces) -> None:
    b = report["bitmaps"]
    if not b.get("count"):
        _title(console, "Bitmaps: none")
        return
    _title(console, f"Bitmaps: {b['count']}, {human_bytes(b['heap_pixel_bytes'])} of pixels in "
                    f"the Java heap, {human_bytes(b['native_pixel_bytes_estimated'])} native (estimated)")
    for big in b["large"][:rows]:
        console.print(f"  {big['object']} {big['width']}x{big['height']} "
                      f"{human_bytes(big['pixel_bytes'])} held by "
                      f"{escape(', '.join(big['holders']) or '-')}")
    _more(console, b["large"], rows, "large bitmap")
    for dup in b["duplicates"][:rows]:
        console.print(f"  {dup['count']} identical {dup['width']}x{dup['height']} bitmaps, "
                      f"{human_bytes(dup['wasted_bytes'])} wasted")
    _more(console, b["duplicates"], rows, "duplicate set")


def _threads(report, console, rows, traces) -> None:
    groups = report["threads"]
    total = sum(g["count"] for g in groups)
    if not groups:
        _title(console, "Threads: none")
        return
    t = _table(f"Threads ({total} in {plural(len(groups), 'name pattern')})",
               [("pattern", "left"), ("threads", "right"), ("held by", "left")])
    for g in groups[:rows]:
        t.add_row(escape(g["pattern"]), str(g["count"]), escape(_holders_text(g["holders"])))
    console.print()
    console.print(t)
    _more(console, groups, rows, "name pattern")
    _redaction(console, thread_values(report), "threads")


def _descriptors(report, console, rows, traces) -> None:
    fds = report["file_descriptors"]
    if not fds.get("open"):
        _title(console, "Open file descriptors: none")
        return
    t = _table(f"Open file descriptors ({fds['open']})",
               [("owner class", "left"), ("count", "right"), ("held by", "left")])
    for g in fds["by_owner"][:rows]:
        t.add_row(escape(g["owner_class"]), str(g["count"]), escape(_holders_text(g["holders"])))
    console.print()
    console.print(t)
    _more(console, fds["by_owner"], rows, "owner class")


def _top_retained(report, console, rows, traces) -> None:
    top = report["top_retained"]
    t = _table(f"Biggest objects (dominator tree, top {len(top)}; oomlens dominators lists all)",
               [("object", "left"), ("class", "left"), ("retained", "right")])
    for r in top[:rows]:
        t.add_row(r["object"], escape(r["class"]), human_bytes(r["retained_bytes"]))
    console.print()
    console.print(t)
    _more(console, top, rows, "object")


_SECTIONS = {"leaks": _leaks, "library_leaks": _library_leaks, "big_objects": _big_objects,
             "class_clusters": _clusters, "bitmaps": _bitmaps, "threads": _threads,
             "file_descriptors": _descriptors, "top_retained": _top_retained}
