"""HTML pieces for the report pages, every string escaped: manifest-derived text can never become
markup. Callers pass plain values, narrative Markdown (`inline`), or `Html` built here.

Tables are written directly (compact markup, fast at a thousand rows); long ones get the
`tk-long` class, which the page template's small script makes filterable and sortable, and the
stylesheet gives a sticky header (without the script they are plain tables).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from toolman_kit.judge.checklist import COMPONENT, SYMBOL, WORKLOAD

if TYPE_CHECKING:
    from toolman_kit.analysis import Analysis

STATUS_WORDS = {
    **SYMBOL, "ok": "✅", "error": "❌", "info": "ℹ️", "skip": "➖", "exempt": "➖ exempt",
    "missing": "❌ missing", "below profile": "⚠️ below profile", True: "✅", False: "❌",
    # changes against the reference set (toolman_kit.comparison)
    "fixed": "✅ fixed", "improved": "↗️ improved", "worse": "❌ worse",
    "introduced": "❌ introduced", "still failing": "⚠️ still failing", "unchanged": "➖ unchanged",
    "added": "➕ added", "removed": "➖ removed",
    "removed with the workload": "➖ removed with the workload",
    "added with the workload": "➕ added with the workload",
}
HTML_WORKLOADS = 20  # workloads an Analysis shows in a notebook before "+N more"
LONG = 12  # rows from which a table gets a filter box and sortable columns


class Html:
    """Markup built here from escaped parts; displayed as text/html by Jupyter."""

    def __init__(self, markup: str = ""):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup

    def __add__(self, other: Any) -> Html:
        return Html(self.markup + str(other))


def esc(value: Any) -> str:
    if isinstance(value, Html):
        return value.markup
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


_MARKUP = re.compile(r"(\[[^\]\\]*\]\([^)\s]*\)|\\[!-/:-@\[-`{-~]|\*\*|`)")
_LINK = re.compile(r"\[([^\]\\]*)\]\(([^)\s]*)\)")
_LOCAL_HREF = re.compile(r"[\w.-]*(#[\w-]+)?")  # a page of the report and/or an anchor


def inline(text: Any) -> str:
    """Narrative Markdown (views/narrative escape manifest text with backslashes) as HTML: `\\x`
    escapes, **bold**, `code` and links within the report become markup; every text piece is
    HTML-escaped."""
    out, open_tags = [], []
    for token in _MARKUP.split("" if text is None else str(text)):
        if token in ("**", "`"):
            tag = "strong" if token == "**" else "code"
            if open_tags and open_tags[-1] == tag:
                out.append(f"</{open_tags.pop()}>")
            else:
                open_tags.append(tag)
                out.append(f"<{tag}>")
        elif len(token) == 2 and token[0] == "\\":
            out.append(esc(token[1]))
        elif (link := _LINK.fullmatch(token)) and _LOCAL_HREF.fullmatch(link[2]):
            out.append(f'<a href="{esc(link[2])}">{esc(link[1])}</a>')
        else:
            out.append(esc(token))
    out += [f"</{tag}>" for tag in reversed(open_tags)]
    return "".join(out)


def symbol(status: Any) -> Any:
    """✅ ⚠️ ❌ … for a status word (pass/warning/fail, a severity, a change, a bool)."""
    try:
        return STATUS_WORDS.get(status, status)
    except TypeError:  # unhashable
        return status


def heading(text: str, level: int = 3, id: str | None = None) -> Html:  # noqa: A002
    anchor = f' id="{esc(id)}"' if id else ""
    return Html(f"<h{level}{anchor}>{esc(text)}</h{level}>")


def para(text: Any, muted: bool = False, md: bool = False) -> Html:
    """A paragraph of plain text (`md`: narrative Markdown, see `inline`)."""
    body = inline(text) if md else esc(text)
    return Html(f"<p{' class=tk-muted' if muted else ''}>{body}</p>")


def prose(text: str | Iterable[str]) -> Html:
    """Paragraphs: blank-line separated text (or a list of paragraphs); `- ` lines as a list."""
    parts = text.split("\n\n") if isinstance(text, str) else list(text)
    out = []
    for part in (p.strip() for p in parts if p and p.strip()):
        lines = part.splitlines()
        if all(line.lstrip().startswith(("- ", "* ")) for line in lines):
            out.append(str(bullets((line.lstrip()[2:] for line in lines), md=True)))
        else:
            out.append(f"<p>{inline(' '.join(lines))}</p>")
    return Html("".join(out))


def bullets(items: Iterable[Any], ordered: bool = False, empty: str = "None.",
            md: bool = False) -> Html:
    """A list of plain text (`md`: narrative Markdown); an item may be a (status, text) pair,
    shown with its symbol."""
    tag = "ol" if ordered else "ul"
    rows = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2:
            item = f"{str(symbol(item[0])).split()[0]} {item[1]}"  # the symbol, not the word
        rows.append(f"<li>{inline(item) if md else esc(item)}</li>")
    if not rows:
        return para(empty, muted=True)
    return Html(f"<{tag}>{''.join(rows)}</{tag}>")


def cell(value: Any) -> str:
    """A table cell's markup: Html as is, lists joined, booleans as yes/no, the rest escaped."""
    if isinstance(value, Html):
        return value.markup
    if type(value).__name__ in ("bool", "bool_"):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return esc(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return esc(", ".join(f"{k}={v}" for k, v in value.items()))
    return esc(value)


def table(df: pd.DataFrame | list[dict[str, Any]] | None, columns: dict[str, str] | None = None,
          status: Sequence[str] = ("status",), empty: str = "None.", id: str | None = None,  # noqa: A002
          long: bool | None = None) -> Html:
    """An HTML table of a frame (or a list of dicts); `columns` picks and renames, status
    columns show ✅ ⚠️ ❌ (centred). `long` (default: from LONG rows) makes it filterable and
    sortable in the page."""
    if df is None or len(df) == 0:
        return Html(f'<p class=tk-muted{f" id={esc(id)!r}" if id else ""}>{esc(empty)}</p>')
    if isinstance(df, list):
        names = list(columns) if columns else list(df[0])
        records = [[r.get(c) for c in names] for r in df]
    else:
        names = list(columns) if columns else [str(c) for c in df.columns]
        records = zip(*(df[c].tolist() for c in names), strict=True)
    titles = [columns[c] for c in names] if columns else names
    marked = [c in status for c in names]
    rows = []
    for values in records:
        rows.append("<tr>" + "".join(
            f'<td class="tk-status">{esc(symbol(v))}</td>' if m else f"<td>{cell(v)}</td>"
            for v, m in zip(values, marked, strict=True)) + "</tr>")
    long = len(df) >= LONG if long is None else long
    classes = "tk tk-long" if long else "tk"
    anchor = f' id="{esc(id)}"' if id else ""
    head = "".join(f"<th>{esc(t)}</th>" for t in titles)
    markup = (f'<table class="{classes}"{anchor}><thead><tr>{head}</tr></thead>'
              f"<tbody>{''.join(rows)}</tbody></table>")
    return scroll(markup) if long else Html(markup)


def scroll(markup: str) -> Html:
    """A long table in a box of at most most of the window's height, scrolling under its sticky
    header (the whole table when printed)."""
    return Html(f'<div class="tk-scroll">{markup}</div>')


def details(summary: Any, body: Any, open: bool = False, id: str | None = None) -> Html:  # noqa: A002
    """A collapsible block (`<details>`): collapsed unless `open`; the page opens it for print
    and when a link targets something inside it."""
    anchor = f' id="{esc(id)}"' if id else ""
    return Html(f"<details{anchor}{' open' if open else ''}><summary>{esc(summary)}</summary>"
                f"{esc(body)}</details>")


def link(text: Any, href: str) -> Html:
    return Html(f'<a href="{esc(href)}">{esc(text)}</a>')


def names(items: Iterable[Any], href: str | None = None, n: int = 5) -> Html:
    """At most `n` names, then "+N more" (a link to the table that has them all, if `href`)."""
    items = [str(i) for i in dict.fromkeys(items)]
    shown = esc(", ".join(items[:n]))
    if len(items) > n:
        more = f"+{len(items) - n} more"
        shown += " " + (str(link(more, href)) if href else esc(more))
    return Html(shown)


def pill(counts: dict[str, int]) -> str:
    """"❌ 3 · ⚠️ 1 · ✅ 12" for a dict of checklist statuses (zeros left out)."""
    return " · ".join(f"{SYMBOL[s]} {counts[s]}" for s in ("fail", "warning", "pass")
                      if counts.get(s)) or "➖"


def analysis_html(a: Analysis) -> str:
    """What a notebook shows: the summary and the checklist (a workload × row matrix when
    there are several workloads), escaped, linking to nothing."""
    esc = html.escape
    rows = a.checklist_rows
    workloads = list(dict.fromkeys(r[WORKLOAD] for r in rows))
    parts = [f"<p><strong>toolman-kit Analysis</strong>: {esc(a.summary())}</p>"]
    if len(workloads) == 1:
        parts.append("<table><tr><th>Component</th><th>Current State</th>"
                     "<th>Production Ready</th><th>Action Required</th></tr>")
        parts += [f"<tr><td>{esc(component)}</td><td>{esc(state)}</td><td>{SYMBOL[status]}</td>"
                  f"<td>{esc(action)}</td></tr>"
                  for _, _, component, state, status, action, _ in rows]
        parts.append("</table>")
    elif workloads:
        shown = set(workloads[:HTML_WORKLOADS])
        components = list(dict.fromkeys(r[COMPONENT] for r in rows))
        cells: dict[str, list[str]] = {w: [] for w in workloads[:HTML_WORKLOADS]}
        for workload, _, _, state, status, _, _ in rows:
            if workload in shown:
                cells[workload].append(f'<td title="{esc(state)}">{SYMBOL[status]}</td>')
        parts.append("<table><tr><th>Workload</th>"
                     + "".join(f"<th>{esc(c)}</th>" for c in components) + "</tr>")
        parts += [f"<tr><th>{esc(w)}</th>{''.join(c)}</tr>" for w, c in cells.items()]
        parts.append("</table>")
        if len(workloads) > HTML_WORKLOADS:
            parts.append(f"<p>+{len(workloads) - HTML_WORKLOADS} more workloads: see "
                         "<code>.checklist</code></p>")
    if a.errors:
        parts.append("<p>Input errors:</p><ul>"
                     + "".join(f"<li>{esc(str(e))}</li>" for e in a.errors) + "</ul>")
    return "<div>" + "".join(parts) + "</div>"
