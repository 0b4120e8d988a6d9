"""The report as one self-contained HTML page: no network, inline CSS and a little vanilla JS.

Reads only the ``oomlens.report/1`` document, whose every string comes from an untrusted dump.
The page is a Jinja2 template with autoescaping always on; no HTML is built in Python and no
document value is marked safe. The document reaches the page's script only through a
``<script type="application/json">`` block written with Jinja's ``tojson`` filter, which
escapes ``<``, ``>``, ``&`` and ``'`` as ``\\uXXXX``, so no string in it can end the block.
A Content-Security-Policy allows no network loads and runs only the page's own script (by its
hash), so even markup that slipped through could neither load nor execute anything.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
from importlib import resources

import jinja2
from markupsafe import Markup

from oomlens.report import sections as report_sections
from oomlens.report.capture_facts import capture_facts
from oomlens.report.cuts import document_cut, sample_text
from oomlens.report.redaction import redaction_note, thread_values, watch_values
from oomlens.units import human_bytes, plural

TEMPLATE = "report.html.j2"
SCRIPT = "report.js"


def section_order(report: dict) -> list[str]:
    """The terminal report's order (``report.sections``), then the histogram."""
    return report_sections.section_order(report) + ["histogram"]


def render_html(report: dict) -> str:
    """The whole page for ``report`` as one string."""
    script = _script()
    return _environment().get_template(TEMPLATE).render(
        report=report, sections=section_order(report), titles=report_sections.TITLES,
        capture_facts=capture_facts(report["capture"]) if report.get("capture") else [],
        # The page's own static script (never document data), and its CSP hash.
        script=Markup(script), script_hash=_csp_hash(script)).lstrip()


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


@functools.cache
def _script() -> str:
    text = resources.files("oomlens.report").joinpath("templates", SCRIPT).read_text("utf-8")
    if "</" in text or "<!--" in text:
        raise AssertionError(f"{SCRIPT} must not contain '</' or '<!--' (it is inlined)")
    return text


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("oomlens.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(human_bytes=human_bytes, plural=plural, simple_name=simple_name,
                       utc_time=utc_time, number=number, bar_percent=bar_percent,
                       holders_text=holders_text, plain=plain, sample_text=sample_text)
    env.globals.update(document_cut=document_cut, redaction_note=redaction_note,
                       has_findings=report_sections.has_findings,
                       thread_values=thread_values, watch_values=watch_values)
    return env


def simple_name(class_name: str) -> str:
    """``class com.example.Foo$Bar`` -> ``Foo$Bar``, as LeakCanary writes reference owners."""
    return class_name.removeprefix("class ").rsplit(".", 1)[-1]


def utc_time(ms: int | None) -> str:
    if not ms:
        return "unknown"
    try:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return str(ms)


def number(n) -> str:
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else str(n)


def bar_percent(value: int, largest: int) -> str:
    """Width of a bar, in percent of the largest one (at least a sliver when non-zero)."""
    if not largest or largest <= 0 or value <= 0:
        return "0"
    return f"{max(0.5, min(100.0, 100.0 * value / largest)):.1f}"


def holders_text(holders: dict | list, limit: int = 3) -> str:
    """``{"Foo": 2, "Bar": 1}`` -> ``Foo (2), Bar (1)``; a list is joined as is."""
    if isinstance(holders, dict):
        items = [f"{name} ({n})" for name, n in list(holders.items())[:limit]]
        more = len(holders) - limit
    else:
        items = [str(h) for h in holders[:limit]]
        more = len(holders) - limit
    return ", ".join(items) + (f", {more} more" if more > 0 else "") if items else "-"


def plain(value) -> str:
    """Any JSON value as short text (still escaped by the template like everything else)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(plain(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {plain(v)}" for k, v in value.items()) or "-"
    return number(value)
