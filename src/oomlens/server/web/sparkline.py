"""Sparklines of reports per day, drawn on the server as inline SVG: one bar per day, scaled to
the busiest day, so a table of fifty issues needs no script and no chart library. The numbers
themselves go into the accessible label (read out by screen readers, shown as a tooltip)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 60, 22  # px; two per day for the dashboard's thirty days
GAP = 0.25  # of each day's width, left empty between bars


@dataclass(frozen=True)
class Sparkline:
    path: str  # every bar, as one SVG path ("" when there is no report)
    label: str
    width: int = WIDTH
    height: int = HEIGHT


def sparkline(trend: dict) -> Sparkline:
    """``trend`` as ``trends.reports_per_day`` gives it: from, to, reports_per_day."""
    counts = trend["reports_per_day"]
    busiest = max(counts, default=0)
    step = WIDTH / max(len(counts), 1)
    bars = []
    for day, count in enumerate(counts):
        if count:
            height = max(1.0, HEIGHT * count / busiest)  # a single report still shows
            bars.append(f"M{day * step:.2f} {HEIGHT - height:.2f}h{step * (1 - GAP):.2f}"
                        f"v{height:.2f}h{-step * (1 - GAP):.2f}z")
    total = sum(counts)
    label = (f"{total:,} report{'' if total == 1 else 's'} from {trend['from']} to "
             f"{trend['to']}, per day: {', '.join(str(c) for c in counts)}")
    return Sparkline("".join(bars), label)
