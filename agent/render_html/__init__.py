"""Every HTML page Dalil writes, rendered one way: Jinja2 templates with autoescape on.

The templates ship inside this package (``agent/render_html/templates/*.j2``, package data). Each page
extends ``base.html.j2``: the doctype, ``<meta charset>``, the Content-Security-Policy, the page's
``lang``/``dir`` and the CSS every page shares. ``brief.html.j2`` is the daily briefing
(``agent.sequence.html``), ``eval_report.html.j2`` an eval's ``report.html`` (``agent.evals.report_html``);
their SVG pictures are macros of ``brief_timeline.svg.j2`` and ``eval_charts.svg.j2``, and the callers
pass only data (text, numbers, coordinates), never markup.

Untrusted text (article text, quotes, outlets, questions, answers, model output) is handed to a
template as a plain ``str``. On output every value is escaped (autoescape) after its control and
bidi-override characters are removed (``agent.render.safe``); ``None`` prints as nothing. No template
marks text safe (no ``|safe``); the one ``Markup`` is the CSP meta tag, a constant of ``agent.safety``.
Arabic text sits in elements with ``dir="rtl" lang="ar"``, English in ``dir="ltr"``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from agent.render import safe
from agent.safety import CSP_META, http_link
from agent.text import arabic

TEMPLATES = "templates"


def _finalize(value: object) -> object:
    """Every ``{{ … }}`` before it is escaped: text loses its control and bidi-override characters."""
    if value is None:
        return ""
    if isinstance(value, Markup):  # a macro's output: already escaped
        return value
    if isinstance(value, str):
        return safe(value)
    return value


@cache
def environment() -> Environment:
    """The one Jinja2 environment (autoescape on, undefined names are errors)."""
    env = Environment(
        loader=PackageLoader("agent.render_html", TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.globals["csp_meta"] = Markup(CSP_META)  # a constant built by Dalil, not text from outside
    env.filters["http_link"] = http_link  # an href only for an absolute http(s) URL, else None
    env.tests["arabic"] = arabic.is_arabic
    return env


def render_html(template_name: str, /, **context: Any) -> str:
    """The page (or fragment) ``template_name`` rendered with ``context``."""
    return environment().get_template(template_name).render(**context)
