"""Executed notebooks to offline HTML, and errors to one line.

nbconvert and papermill are imported on first use, by the thread that exports, while kernels run
(they cost ≈ 1 s to import, and `toolman-kit check` loads this module's package)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
FAILING_LINE = re.compile(r"^-+>\s*\d+\s(.*)$", re.M)


def ipynb(nb: Any) -> str:
    import nbformat

    return nbformat.writes(nb)


_EXPORTERS = threading.local()


def exporter(with_code: bool) -> Any:
    """The HTML exporter, one per thread and setting, kept: its templates compile once (≈ 0.7 s
    of CPU), not once per report, when one process writes many reports (the fleet batch)."""
    kept = _EXPORTERS.__dict__.setdefault("by_setting", {})
    if with_code not in kept:
        kept[with_code] = new_exporter(with_code)
    return kept[with_code]


def new_exporter(with_code: bool) -> Any:
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class Exporter(HTMLExporter):
        """HTMLExporter without its final BeautifulSoup pass over the whole page, which gives
        alternative text to images that lack it (ours have it) and a tabindex to outputs: that
        pure-Python re-parse takes seconds on a page of a thousand rows, longer than running
        the notebook. The same filters are registered as HTMLExporter registers them."""

        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:
            language = nb.metadata.get("language_info", {})
            lexer = language.get("pygments_lexer", language.get("name"))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return Exporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)],
                    exclude_input=not with_code, exclude_input_prompt=not with_code,
                    exclude_output_prompt=True, embed_images=True,
                    optimistic_validation=True)  # validate once, not after each preprocessor


def describe(exc: BaseException) -> str:
    """The error in one line, `ename: evalue (in cell: its first line)`, without traceback."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        line = next((x for x in str(exc.source).splitlines() if x.strip()), "")
        for entry in exc.traceback or ():  # IPython's: "Cell In[n], line l" … "----> l code"
            text = ANSI.sub("", entry)
            if text.startswith("Cell In") and (arrow := FAILING_LINE.search(text)):
                line = arrow.group(1).strip()
                break
        where = f" (at: {line[:60]}{'…' if len(line) > 60 else ''})" if line else ""
        return one_line(f"{exc.ename}: {exc.evalue}") + where
    return one_line(f"{type(exc).__name__}: {exc}")


def one_line(text: Any, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


