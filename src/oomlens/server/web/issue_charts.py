"""The issue page's three bar charts, made from the issue the API shows: retained size
distribution, reports per day, reports per app version.

Each chart is labelled bars. The labels are made here, with the page's own byte formatting, so
the chart (drawn by static/issue.js from ``data()``), its ``aria-label`` and its table of numbers
say the same thing in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from oomlens.server.core.vocabulary import FindingKind
from oomlens.units import human_bytes


@dataclass(frozen=True)
class Bars:
    key: str  # element ids: chart-KEY
    title: str
    label_heading: str  # the table's first column
    bars: list[tuple[str, int]]  # (label, reports), in the order drawn
    ticks: list[str] | None = None  # shorter labels for the axis, one per bar

    def data(self) -> dict:
        """What the script gets (as JSON through ``|tojson``)."""
        return {"title": self.title, "labels": [label for label, _ in self.bars],
                "ticks": self.ticks or [label for label, _ in self.bars],
                "values": [count for _, count in self.bars]}

    @property
    def rows(self) -> list[tuple[str, int]]:
        """The table's rows: bars with reports (a month of empty days is no information)."""
        return [(label, count) for label, count in self.bars if count]

    def summary(self) -> str:
        """The chart in words, for screen readers."""
        if not self.rows:
            return f"{self.title}: no reports."
        told = "; ".join(f"{label}: {count}" for label, count in self.rows)
        rest = " (none on the others)" if len(self.rows) < len(self.bars) else ""
        return f"{self.title}: {told}{rest}."


def issue_charts(issue: dict) -> list[Bars]:
    """The charts of one issue, as ``issues.queries.issue_detail`` gives it. An OOM cause holds
    no bytes of its own (its reports count 0), so it has no size distribution."""
    counts = [reports_per_day(issue["trend"]), reports_per_version(issue["breakdown"]["versions"])]
    if issue["kind"] == FindingKind.OOM_CAUSE:
        return counts
    return [retained_distribution(issue["breakdown"]["retained_histogram"]), *counts]


def retained_distribution(histogram: list[dict]) -> Bars:
    def label(b: dict) -> str:
        low, high = human_bytes(b["from"]), human_bytes(b["to"])
        return low if low == high else f"{low} – {high}"

    return Bars("retained", "Retained size across reports", "Retained",
                [(label(b), b["reports"]) for b in histogram],
                [human_bytes(b["from"]) for b in histogram])


def reports_per_day(trend: dict) -> Bars:
    first = date.fromisoformat(trend["from"])
    days = [first + timedelta(days=i) for i in range(len(trend["reports_per_day"]))]
    return Bars("days", "Reports per day (UTC)", "Day",
                [(day.isoformat(), count) for day, count in zip(days, trend["reports_per_day"],
                                                                strict=True)],
                [day.strftime("%m-%d") for day in days])


def reports_per_version(versions: list[dict]) -> Bars:
    return Bars("versions", "Reports per app version", "Version",
                [(v["version"] or "(none)", v["reports"]) for v in versions])
