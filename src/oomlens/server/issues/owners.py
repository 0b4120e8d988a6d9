"""Who owns an issue: the classes its finding names, looked up in the project's ownership file.

An issue is owned through the app-side classes of its representative finding, tried in this
order (the first that a rule owns gives the owner):

- a leak: the app's own holders on its trace, nearest the leaking object first, then the leaking
  class. The holders are the nodes the analysis marked as app code (``analysis.app_code``),
  whose references are exactly what the leak's signature is made of; the nearest one is the
  app code that keeps the object most directly, as a big object's holder is the nearest app
  object above it.
- a library leak: the leaking class. Its signature is the platform pattern plus that class; the
  references holding it are the platform's, not a team's.
- a big object: its holder's class (the ``Holder.field`` in its signature), then its class.
- a class cluster: its class.
- an OOM cause (a report with no finding): no class at all, so only a ``**`` rule owns it.

Owners are derived, never typed by hand: a new issue gets one when it is created, and a new
ownership file recomputes every issue of the project in the transaction that stores it.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

from sqlalchemy import ColumnElement, literal, select, update
from sqlalchemy.orm import Session

from oomlens.analysis.app_code import element_class
from oomlens.server.core.models import Issue, Project
from oomlens.server.issues.ownership import UNOWNED_FILTER, Ownership, OwnershipError, parse

_ELEMENT_SLOT = re.compile(r"\[\d*\]$")
_UPDATE_CHUNK = 500  # ids per UPDATE ... WHERE id IN (...), under every database's limit


def holder_class(label: str) -> str:
    """The class of a ``Holder.field`` (or ``Holder[][3]``) reference label."""
    if _ELEMENT_SLOT.search(label):
        return element_class(_ELEMENT_SLOT.sub("", label))
    return element_class(label.rpartition(".")[0] or label)


def candidate_classes(kind: str, finding: dict) -> list[str]:
    """The classes ``finding`` (a report item of ``kind``) is owned through, in order."""
    names = []
    if kind == "leak":
        traces = finding.get("traces") or [{}]
        above = (traces[0].get("nodes") or [])[:-1]
        names += [element_class(n["class"]) for n in reversed(above) if n.get("app")]
    elif kind == "big_object" and finding.get("holder"):
        names.append(holder_class(finding["holder"]))
    if kind != "oom_cause" and finding.get("class"):
        names.append(element_class(finding["class"]))
    return list(dict.fromkeys(names))


def owner_of(ownership: Ownership, kind: str, finding: dict) -> str:
    return ownership.owner_of(candidate_classes(kind, finding))


class ProjectOwners:
    """A project's ownership file for one fold, parsed once, and only when an owner is asked
    for (most folds create no issue).

    Made at the start of a fold, it takes a shared lock on the project's row (PostgreSQL: FOR
    SHARE; SQLite serialises writers anyway) until the fold commits, and ``replace_ownership``
    takes the exclusive one: a new file waits for the folds in progress and then sees their new
    issues, and a fold that starts meanwhile waits and reads the new file. Without it a fold could
    give a new issue the old file's owner after the new file's recompute had run. Taking it first,
    before the fold touches any issue, keeps the two from waiting on each other."""

    def __init__(self, session: Session, project_id: int):
        self.session, self.project_id = session, project_id
        self._text = session.scalar(select(Project.ownership).where(Project.id == project_id)
                                    .with_for_update(read=True))
        self._ownership: Ownership | None = None

    def owner(self, kind: str, finding: dict) -> str:
        if self._ownership is None:
            try:
                self._ownership = parse(self._text or "")
            except OwnershipError:  # stored by a laxer version: unowned, not a failed analysis
                self._ownership = Ownership(())
        return owner_of(self._ownership, kind, finding)


def replace_ownership(session: Session, project_id: int, data: bytes) -> dict:
    """Store ``data`` as the project's ownership file and recompute the owner of each of its
    issues (no commit: both happen together or not at all). Raises ``OwnershipError``."""
    ownership = parse(data)
    project = session.scalar(select(Project).where(Project.id == project_id)
                             .with_for_update())  # see ProjectOwners
    project.ownership = data.decode("utf-8")
    counts = recompute_owners(session, project_id, ownership)
    return {"rules": len(ownership.rules), **counts}


def recompute_owners(session: Session, project_id: int, ownership: Ownership) -> dict:
    """Set the owner of every issue of the project from ``ownership``; the representatives
    are streamed, so ten thousand issues never sit in memory at once."""
    changed: dict[str, list[int]] = defaultdict(list)
    total = owned = 0
    rows = session.execute(select(Issue.id, Issue.kind, Issue.owner, Issue.representative)
                           .where(Issue.project_id == project_id)
                           .execution_options(yield_per=500))
    for issue_id, kind, current, representative in rows:
        owner = owner_of(ownership, kind, json.loads(representative))
        total += 1
        owned += bool(owner)
        if owner != current:
            changed[owner].append(issue_id)
    for owner, ids in changed.items():
        for start in range(0, len(ids), _UPDATE_CHUNK):
            session.execute(update(Issue).where(Issue.id.in_(ids[start:start + _UPDATE_CHUNK]))
                            .values(owner=owner))
    return {"issues": total, "owned": owned, "unowned": total - owned}


def owned_by(owner: str) -> ColumnElement[bool]:
    """The issue-list filter: issues whose owners include ``owner`` exactly (an issue of a
    rule with several owners is each one's); ``-`` selects the unowned ones."""
    if owner == UNOWNED_FILTER:
        return Issue.owner == ""
    return (literal(" ") + Issue.owner + " ").contains(f" {owner} ", autoescape=True)
