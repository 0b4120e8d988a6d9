"""Changing an issue's status by hand: open, fixed in a version, or ignored.

A fixed issue must say in which version, since that is what lets aggregation tell a regression
(a report of a later version re-opens it) from an old install that still crashes (a report of
that version or an earlier one does not). An ignored issue stays ignored whatever arrives.
"""

from __future__ import annotations

from oomlens.errors import OomlensError
from oomlens.server.core.models import Issue
from oomlens.server.core.vocabulary import IssueStatus


class BadStatus(OomlensError):
    """A status change that cannot be made (the message says why); maps to 422."""


def change_status(issue: Issue, status: str, fixed_in_version: str | None) -> None:
    """Set ``issue``'s status (no commit); ``fixed_in_version`` goes with ``fixed`` only."""
    if status not in tuple(IssueStatus):
        raise BadStatus(f"status must be one of {', '.join(IssueStatus)}")
    version = (fixed_in_version or "").strip()
    if status == IssueStatus.FIXED and not version:
        raise BadStatus("a fixed issue needs fixed_in_version: the version with the fix")
    if status != IssueStatus.FIXED and version:
        raise BadStatus(f"fixed_in_version goes with status fixed, not {status}")
    if len(version) > 100:
        raise BadStatus("fixed_in_version must be at most 100 characters")
    issue.status = status
    issue.fixed_in_version = version
