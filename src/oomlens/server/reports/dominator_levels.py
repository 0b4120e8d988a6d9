"""One level of a report's dominator tree, as the API and the dashboard's explorer show it: a
node, its kept children biggest first (a page at a time), and after the last page one summary
row for the children left out."""

from __future__ import annotations

from oomlens.errors import OomlensError
from oomlens.ids import parse_id
from oomlens.server.core.models import Report
from oomlens.server.core.storage import BlobStore
from oomlens.server.reports import dominator_tree


PAGE = 100  # children per answer: a level of a big heap may keep thousands
MAX_PAGE = 1000


class NotAvailable(OomlensError):
    """The report has no tree to show (not analysed, or analysed before trees were kept): 409."""


class BadNode(OomlensError):
    """The node asked for is not an object id (422), or was not kept (404)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def level(store: BlobStore, report: Report, node: str, offset: int = 0,
          limit: int = PAGE) -> dict:
    """``node`` ("root" or an object id in hex) of ``report``'s tree with ``limit`` of its
    kept children from the ``offset``-th on; ``next_offset`` is where the following page starts
    (None after the last, which also carries the summary of the children left out)."""
    if node != "root":
        try:
            object_id = parse_id(node)
        except OomlensError:
            raise BadNode("node must be root or an object id such as 0x12c4f3a8", 422) \
                from None
    if report.report_json is None:
        raise NotAvailable(f"the report is {report.status}, not analysed yet")
    key = dominator_tree.blob_key(report.project_id, report.id)
    if not store.exists(key):
        raise NotAvailable("this report was analysed before dominator trees were kept: "
                           "analyse it again to explore its tree")
    with store.open(key) as f:
        tree = dominator_tree.DomTree(f)
        found = tree.node(dominator_tree.ROOT) if node == "root" else tree.find(object_id)
        if found is None:
            raise BadNode(f"{node} is not in the kept tree (objects retaining at least "
                             f"{tree.threshold_bytes:,} bytes are kept, with the "
                             f"{tree.header['top_children']} biggest children of each)", 404)
        children = tree.children(found, offset, limit)
    total = tree.reachable_bytes
    following = offset + limit if offset + limit < found.child_count else None
    more = None
    if found.more_count and following is None:
        more = {"objects": found.more_count, "retained_bytes": found.more_bytes,
                "percent": _percent(found.more_bytes, total)}
    return {"report": report.id, "reachable_bytes": total,
            "threshold_bytes": tree.threshold_bytes, "node": _row(found, total),
            "kept_children": found.child_count, "offset": offset,
            "children": [_row(c, total) for c in children], "next_offset": following,
            "more": more}


def _row(node: dominator_tree.Node, total: int) -> dict:
    return {"object": node.object_id, "class": node.class_name,
            "shallow_bytes": node.shallow_bytes, "retained_bytes": node.retained_bytes,
            "percent": _percent(node.retained_bytes, total), "has_children": node.has_children}


def _percent(part: int, whole: int) -> float:
    """Of the reachable heap, to 0.001%: enough to tell the small rows apart."""
    return round(100 * part / whole, 3) if whole else 0.0
