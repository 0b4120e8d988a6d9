"""Templates: one Jinja2 environment, autoescaping everything (class names, strings and
metadata come from untrusted dumps and uploads), with the formatting filters pages share."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from oomlens.report.capture_facts import capture_facts
from oomlens.report.cuts import document_cut, sample_text
from oomlens.report.sections import has_findings
from oomlens.report.redaction import redaction_note, thread_values, watch_values
from oomlens.units import human_bytes

TEMPLATES = Path(__file__).parent / "templates"


def _when(value) -> str:
    """A UTC time as people read it in a table: 2026-11-24 14:05."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _bytes(value) -> str:
    return "–" if value is None else human_bytes(int(value))


def _number(value) -> str:
    return "–" if value is None else f"{int(value):,}"


# after a package dot or a nested-class dollar that a name goes on after
_NAME_JOINT = re.compile(r"(?<=[.$])(?=\w)")


def _breakable(value) -> Markup:
    """``value`` escaped, with a line-break opportunity (``<wbr>``) after each dot and ``$``
    inside a name: a narrow cell then wraps ``com.example.`` / ``CreateCollectionDump``, never
    in mid-word (the cells' CSS breaks a word only when one is wider than the cell)."""
    return Markup("<wbr>").join(escape(part) for part in _NAME_JOINT.split(str(value)))


def _percent(part, whole) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(when=_when, bytes=_bytes, number=_number, sample_text=sample_text,
                   breakable=_breakable)
ENV.globals.update(percent=_percent, capture_facts=capture_facts, document_cut=document_cut,
                   redaction_note=redaction_note, thread_values=thread_values,
                   has_findings=has_findings,
                   watch_values=watch_values)


def page(template: str, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(template).render(**context), status_code=status)
