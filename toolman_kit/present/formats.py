"""Output formats: small functions of an Analysis that write to a stream, registered in FORMATS.

They read the findings' row tuples and the checklist's, not DataFrames, and write as they go, so
a cluster-sized input (800,000 rows) costs time and memory in proportion to what is written, and
`toolman-kit check` never imports pandas. JSON and SARIF are compact (no indentation). SARIF
carries failures, and exempt failures as suppressed results, not passes; `only_failed` drops pass
and skip rows from the formats that list them (JSON, CSV, JUnit).

Manifests are untrusted: the table escapes control characters (text.terminal_safe), CSV cells
that a spreadsheet would run as formulas are neutralised, and when nothing could be read (a
typo'd path, a chart that does not render) no format looks like a clean result: the table and
CSV write nothing, the others say that the input failed (JSON's `errors`, SARIF's
`executionSuccessful: false`, JUnit's `<error>` cases, Markdown's "Input errors").

With a baseline (`check --baseline`, judge/baseline.py) each format marks its findings: JSON a
`baseline` field ("new", "known"; null on passes and skips) and a head `baseline` object, CSV a
last `baseline` column, SARIF the standard `baselineState` ("new", "unchanged"), JUnit known
failures as skipped; the table and Markdown list the new failures and say how many known ones
remain. Without one, every output is as it was.

The configuration file in use (`.toolman-kit.yaml`, `--config`) is named where a format has a
head: JSON's `config`, SARIF's run `properties.config`, JUnit's suite `<properties>`, Markdown's
"Configuration:" line, the table's summary line. CSV has no head: a comment line would be read
as a row by spreadsheets and `csv`/pandas readers, and a column would repeat one value on every
row, so CSV leaves it to stderr, where every command names the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import islice
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any, TextIO
from xml.sax.saxutils import quoteattr

from toolman_kit import __version__
from toolman_kit.analysis import Analysis
from toolman_kit.judge.baseline import Marks, target
from toolman_kit.judge.checklist import COMPONENT, CURRENT_STATE, SYMBOL, WORKLOAD
from toolman_kit.judge.findings import (
    CHECK_ID,
    COLUMNS,
    CONTAINER,
    EXEMPT_REASON,
    FILE,
    KIND,
    LINE,
    MESSAGE,
    NAME,
    SEVERITY,
    STATUS,
    Findings,
)
from toolman_kit.text import md_cell, plural, terminal_lines, terminal_safe

TOOL = {"name": "toolman-kit", "version": __version__,
        "informationUri": "https://github.com/toolman-kit/toolman-kit"}
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
CHUNK = 5000  # rows serialized per write
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# A findings row as a JSON object, by an f-string: twice as fast as dict + encode, which
# matters at 100,000s of rows (and 5× faster than the same row by %-formatting). Every column
# is a string but `line` (an int or None). Most columns repeat from row to row (the check and
# its object's kind and namespace; remediation, path and file; the template, set, exemption and
# values keys): each run of them is encoded once per distinct value (_Encoded), so a row costs
# three lookups, three encodings (name, container, message) and a number.
_OWN = MESSAGE + 1  # name, container, message: different in (almost) every row
assert (NAME, CONTAINER) == (MESSAGE - 2, MESSAGE - 1), "see _json_findings"


class _Encoded(dict):
    """A run of columns → its `"column":value` JSON, made on first sight of those values."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.template = ",".join(f"{encode_basestring(c)}:%s" for c in columns)

    def __missing__(self, values: tuple) -> str:
        self[values] = text = self.template % tuple(map(encode_basestring, values))
        return text


def nothing_read(a: Analysis) -> bool:
    """A fatal input error: not one object was read, so there is no result to show."""
    return bool(a.errors) and not len(a.manifests)


def _rows(a: Analysis, only_failed: bool) -> Iterable[tuple]:
    return a.rows.problems() if only_failed else a.rows


def _chunks(rows: Iterable[tuple], size: int = CHUNK) -> Iterator[list[tuple]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _json_array(out: TextIO, items: Iterable[Any], encoded: Callable[[list[Any]], str]) -> None:
    """Write `[item,…]` a chunk at a time (`encoded`: a chunk's items, comma-separated): a
    whole-run string would be hundreds of MB."""
    out.write("[")
    sep = ""
    for chunk in _chunks(items):
        out.write(sep + encoded(chunk))
        sep = ","
    out.write("]")


def write_json(a: Analysis, out: TextIO, only_failed: bool = False,
               baseline: Marks | None = None, config: str | None = None) -> None:
    head = {"tool": {"name": TOOL["name"], "version": TOOL["version"], "profile": a.profile.name},
            "inputs": a.manifests.inputs,
            "errors": [{"file": e.file, "line": e.line, "message": e.message} for e in a.errors]}
    if config:
        head["config"] = config
    if baseline:
        known = baseline.known_failures(a.rows)
        head["baseline"] = {"file": baseline.file, "known": known,
                            "new": sum(1 for _ in a.rows.failed()) - known}
    out.write(_encode(head)[:-1] + ',"findings":')
    _json_array(out, _rows(a, only_failed), _json_findings(baseline))
    out.write(',"checklist":')
    e = encode_basestring
    _json_array(out, a.checklist_rows, lambda chunk: ",".join([
        f'{{"workload":{e(workload)},"component":{e(component)},"current_state":{e(state)},'
        f'"status":{e(status)},"action":{e(action)}}}'
        for workload, _, component, state, status, action, _ in chunk]))
    pss = [{"kind": p.kind, "namespace": p.namespace, "name": p.name, "level": p.level,
            "violations": p.violations} for p in a.pod_security]
    out.write(f',"pod_security":{_encode(pss)}}}\n')


def _json_findings(baseline: Marks | None = None) -> Callable[[list[tuple]], str]:
    """Findings rows → their JSON objects, comma-separated; the repeated runs of columns are
    remembered for one output. With a baseline, each object ends with its `baseline` state."""
    head, middle, tail = (_Encoded(COLUMNS[:NAME]), _Encoded(COLUMNS[_OWN:LINE]),
                          _Encoded(COLUMNS[LINE + 1:]))
    e = encode_basestring

    def rows(chunk: list[tuple]) -> str:
        try:
            objects = [
                f'{{{head[r[:NAME]]},"name":{e(r[NAME])},"container":{e(r[CONTAINER])},'
                f'"message":{e(r[MESSAGE])},{middle[r[_OWN:LINE]]},"line":'
                f'{"null" if r[LINE] is None else int(r[LINE])},{tail[r[LINE + 1:]]}}}'
                for r in chunk]
        except TypeError:  # a value that is not a string after all: let json say it
            objects = [_encode(dict(zip(COLUMNS, r, strict=True))) for r in chunk]
        if baseline:
            objects = [o[:-1] + _BASELINE_FIELD[baseline.state(r)]
                       for o, r in zip(objects, chunk, strict=True)]
        return ",".join(objects)

    return rows


_BASELINE_FIELD = {state: f',"baseline":{_encode(state)}}}' for state in ("new", "known", None)}


# A cell that spreadsheets run as a formula starts with one of these (OWASP, "CSV Injection").
# The pattern finds, in a chunk's CSV text, every cell after the first (the check id, the kit's
# own) that may (and a few inside quoted text that do not): only such a chunk is written again
# cell by cell. A literal first character keeps the search at a tenth of the writing's time.
FORMULA_START = "=+-@\t\r"
_MAYBE_FORMULA = re.compile(r',"?[=+\-@\t\r]')


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: a string starting with = + - @ tab or CR
    gets a leading single quote, as OWASP advises and spreadsheet tools expect."""
    if type(value) is str and value and value[0] in FORMULA_START:
        return "'" + value
    return value


def write_csv(a: Analysis, out: TextIO, only_failed: bool = False,
              baseline: Marks | None = None, config: str | None = None) -> None:
    if nothing_read(a):
        return
    csv.writer(out, lineterminator="\n").writerow(COLUMNS + (("baseline",) if baseline else ()))
    text = io.StringIO()  # a chunk's rows, looked at before they are written
    writer = csv.writer(text, lineterminator="\n")
    for chunk in _chunks(_rows(a, only_failed)):
        if baseline:
            chunk = [(*r, baseline.state(r) or "") for r in chunk]
        writer.writerows(chunk)
        if _MAYBE_FORMULA.search(text.getvalue()):
            text.seek(0)
            text.truncate()
            writer.writerows([tuple(map(csv_cell, r)) for r in chunk])
        out.write(text.getvalue())
        text.seek(0)
        text.truncate()


class _Cells(dict):
    """Text → its Markdown cell, escaped once per distinct text of one output: cells repeat
    (check ids, kinds, states, remediations), and a cluster has 100,000s of them."""

    def __missing__(self, text: str) -> str:
        self[text] = cell = md_cell(text)
        return cell

    def row(self, values: Iterable[Any]) -> str:
        return "| " + " | ".join([self[v] if type(v) is str else md_cell(v)
                                  for v in values]) + " |"


def _md_header(headers: Iterable[str]) -> str:
    headers = list(headers)
    return "| " + " | ".join(headers) + " |\n|" + "|".join("---" for _ in headers) + "|"


def _markdown_rows(rows: Iterable[Sequence[Any]], headers: Iterable[str],
                   cells: _Cells | None = None) -> str:
    cells = _Cells() if cells is None else cells  # (an empty one is falsy, yet shared)
    return "\n".join([_md_header(headers), *map(cells.row, rows)])


def markdown_table(df: Any, columns: dict[str, str]) -> str:
    """A DataFrame's `columns` (name → header) as a Markdown table, every cell escaped."""
    return _markdown_rows(df[list(columns)].itertuples(index=False), columns.values())


def _by_workload(checklist_rows: Iterable[Sequence[Any]]) -> dict[str, list[Sequence[Any]]]:
    blocks: dict[str, list[Sequence[Any]]] = {}
    for r in checklist_rows:
        blocks.setdefault(r[WORKLOAD], []).append(r)
    return blocks


def checklist_markdown(checklist: Any) -> str:
    """The checklist (a DataFrame or row tuples in checklist.COLUMNS order) as one Markdown
    table per workload, in the seed's columns."""
    if hasattr(checklist, "itertuples"):
        checklist = checklist.itertuples(index=False, name=None)
    cells = _Cells()
    return "\n\n".join(
        f"### {md_cell(workload)}\n\n" + _markdown_rows(
            ((component, state, SYMBOL[status], action)
             for _, _, component, state, status, action, _ in rows),
            ("Component", "Current State", "Production Ready", "Action Required"), cells)
        for workload, rows in _by_workload(checklist).items())


FAILED_COLUMNS = {"severity": "Severity", "check_id": "Check", "kind": "Kind", "name": "Name",
                  "container": "Container", "message": "Finding", "remediation": "Action",
                  "file": "File", "line": "Line"}
_FAILED = itemgetter(*(COLUMNS.index(c) for c in FAILED_COLUMNS))


def write_markdown(a: Analysis, out: TextIO, only_failed: bool = False,
                   baseline: Marks | None = None, config: str | None = None) -> None:
    if nothing_read(a):
        out.write(f"# Production readiness ({md_cell(a.profile.name)})\n\n{_md_config(config)}"
                  "Nothing was checked: the input could not be read.\n\n## Input errors\n\n"
                  + "\n".join(f"- {md_cell(e)}" for e in a.errors) + "\n")
        return
    out.write(f"# Production readiness ({md_cell(a.profile.name)})\n\n{_md_config(config)}"
              "## Production Readiness Checklist\n\n"
              f"{checklist_markdown(a.checklist_rows)}\n\n## Findings\n\n")
    failed, cells = 0, _Cells()
    if baseline:
        out.write(md_cell(_known_line(a, baseline)) + "\n\n")
    for chunk in _chunks(_failed(a, baseline)):
        if not failed:
            out.write(_md_header(FAILED_COLUMNS.values()))
        out.write("".join(["\n" + cells.row(_FAILED(r)) for r in chunk]))
        failed += len(chunk)
    if not failed:
        out.write("No new failures." if baseline else "No failures.")
    if a.errors:
        out.write("\n\n## Input errors\n\n" + "\n".join(f"- {md_cell(e)}" for e in a.errors))
    out.write("\n")


def _md_config(config: str | None) -> str:
    return f"Configuration: {md_cell(config)}\n\n" if config else ""


def write_sarif(a: Analysis, out: TextIO, only_failed: bool = False,
                baseline: Marks | None = None, config: str | None = None) -> None:
    """SARIF 2.1.0: every check as a rule; failures as results, exempt failures as results with
    a suppression (what code-scanning consumers expect); passes and skips are not results."""
    checks = a.checks
    rule_ids = sorted(set(checks) | {r[CHECK_ID] for r in a.rows})
    rules = []
    for rule_id in rule_ids:
        c = checks[rule_id]
        rules.append({
            "id": c.id, "name": c.id, "shortDescription": {"text": c.title},
            "fullDescription": {"text": c.description or c.title},
            "help": {"text": c.fix(a.profile)},
            "defaultConfiguration": {"level": SARIF_LEVEL[a.profile.severity(c.id, c.severity)]},
            "properties": {"area": c.area.value}})
    index_of = {rule_id: i for i, rule_id in enumerate(rule_ids)}

    def result(r: tuple) -> dict[str, Any]:
        (check_id, _, severity, status, kind, namespace, name, container, message, _, path,
         file, line, template, _, exempt_reason, *_) = r
        location = {"artifactLocation": {"uri": file}}
        if line is not None:
            location["region"] = {"startLine": line}
        found: dict[str, Any] = {
            "ruleId": check_id, "ruleIndex": index_of[check_id], "level": SARIF_LEVEL[severity],
            "message": {"text": message},
            "locations": [{"physicalLocation": location, "logicalLocations": [{
                "fullyQualifiedName": target(kind, namespace, name, container),
                "kind": "resource"}]}],
            "properties": {"path": path, "template": template}}
        if status == "exempt":
            found["suppressions"] = [{"kind": "external", "justification": exempt_reason}]
        if baseline:
            found["baselineState"] = "unchanged" if baseline.state(r) == "known" else "new"
        return found

    invocation = {"executionSuccessful": not a.errors, "toolExecutionNotifications": [
        {"level": "error", "message": {"text": e.message},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": e.file},
                                             **({"region": {"startLine": e.line}}
                                                if e.line else {})}}]}
        for e in a.errors]}
    head = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0"}
    properties = f',"properties":{_encode({"config": config})}' if config else ""
    out.write(_encode(head)[:-1] + ',"runs":[{"tool":'
              + _encode({"driver": {**TOOL, "rules": rules}}) + properties + ',"results":')
    _json_array(out, a.rows.problems(),
                lambda chunk: ",".join([_encode(result(r)) for r in chunk]))
    out.write(f',"invocations":[{_encode(invocation)}]}}]}}\n')


def write_table(a: Analysis, out: TextIO, only_failed: bool = False,
                baseline: Marks | None = None, config: str | None = None) -> None:
    """What a person reads in a terminal: the checklist per workload, then what failed, every
    line terminal_safe; nothing when nothing could be read (the errors are on stderr)."""
    if nothing_read(a):
        return
    for workload, rows in _by_workload(a.checklist_rows).items():
        _, namespace, *_ = rows[0]
        lines = [f"{workload}  (namespace {namespace or '-'})"]
        width = max(len(r[COMPONENT]) for r in rows)
        state_width = min(max(len(r[CURRENT_STATE]) for r in rows), 40)
        for _, _, component, state, status, action, _ in rows:
            state = state if len(state) <= 40 else state[:39] + "…"
            lines.append(f"  {SYMBOL[status]} {component:<{width}}  {state:<{state_width}}  "
                         f"{'' if action == '—' else action}".rstrip())
        out.write(terminal_lines(lines) + "\n\n")
    for chunk in _chunks(_failed(a, baseline)):
        out.write(terminal_lines(list(map(_failure_line, chunk))) + "\n")
    configured = f"; configuration {config}" if config else ""
    out.write(f"\n{terminal_safe(_summary(a, baseline) + configured)}\n")


def _failure_line(r: tuple) -> str:
    where = r[FILE] if r[LINE] is None else f"{r[FILE]}:{r[LINE]}"
    target = f"{r[KIND]}/{r[NAME]}" + (f"[{r[CONTAINER]}]" if r[CONTAINER] else "")
    return f"{r[SEVERITY].upper():<7} {r[CHECK_ID]:<34} {target}: {r[MESSAGE]}  ({where})"


def _failed(a: Analysis, baseline: Marks | None) -> Iterable[tuple]:
    """The failures to list: with a baseline, the new ones."""
    return baseline.new(a.rows.failed()) if baseline else a.rows.failed()


def _known_line(a: Analysis, baseline: Marks) -> str:
    known = baseline.known_failures(a.rows)
    return (f"{plural(known, 'known failure')} from the baseline {baseline.file} "
            f"{'is' if known == 1 else 'are'} not listed.")


def _summary(a: Analysis, baseline: Marks | None = None) -> str:
    """The last line, e.g. "6 objects, 1 workload: 3 errors, 5 warnings, 2 info; profile
    production", which never reads as clean when an input could not be read. With a baseline
    the counts are of new failures, and the known ones are counted after them."""
    counts = (Findings(baseline.new(a.rows.failed())) if baseline else a.rows).counts()
    new = "new " if baseline else ""
    known = (f"; {baseline.known_failures(a.rows)} known from the baseline {baseline.file}"
             if baseline else "")
    unread = (f"; {plural(len(a.errors), 'input error')}: not everything was checked"
              if a.errors else "")
    return (f"{plural(len(a.manifests), 'object')}, "
            f"{plural(len(a.index.workloads), 'workload')}: "
            f"{plural(counts['error'], new + 'error')}, "
            f"{plural(counts['warning'], new + 'warning')}, "
            f"{counts['info']} {new}info{known}; profile {a.profile.name}{unread}")


def write_junit(a: Analysis, out: TextIO, only_failed: bool = False,
                baseline: Marks | None = None, config: str | None = None) -> None:
    """One test case per finding, and one in error per input that could not be read (what CI
    shows red: a suite of nothing that passed would read as clean). With a baseline, a known
    failure is a skipped case ("known from the baseline: …"): it does not fail the run."""
    rows = a.rows if not only_failed else list(a.rows.problems())
    known = baseline.known if baseline else frozenset()
    failures = sum(1 for r in rows if r[STATUS] == "fail" and id(r) not in known)
    errors = "".join(
        f'    <testcase classname="input" name={quoteattr(_where(e))}>'
        f'<error message={quoteattr(e.message)} type="input"/></testcase>\n' for e in a.errors)
    counts = f' errors="{len(a.errors)}"' if a.errors else ""
    properties = (f'    <properties><property name="config" value={quoteattr(config)}/>'
                  '</properties>\n' if config else "")
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
              f'<testsuite name="toolman-kit" tests="{len(rows) + len(a.errors)}" '
              f'failures="{failures}"{counts}>\n{properties}{errors}')
    for chunk in _chunks(rows):
        cases = []
        for r in chunk:
            check_id, area, severity, status, kind, _, name, container, message = r[:MESSAGE + 1]
            title = quoteattr(f"{check_id} {kind}/{name}" + (f"[{container}]" if container
                                                             else ""))
            body = ""
            if status == "fail" and id(r) in known:
                body = f"<skipped message={quoteattr('known from the baseline: ' + message)}/>"
            elif status == "fail":
                body = f"<failure message={quoteattr(message)} type={quoteattr(severity)}/>"
            elif status in ("skip", "exempt"):
                body = f"<skipped message={quoteattr(message or r[EXEMPT_REASON])}/>"
            cases.append(f'    <testcase classname={quoteattr(area)} name={title}>{body}'
                         '</testcase>\n')
        out.write("".join(cases))
    out.write("</testsuite>\n")


def _where(e: Any) -> str:
    return str(e.file) if e.line is None else f"{e.file}:{e.line}"


Writer = Callable[..., None]  # (analysis, stream, only_failed, baseline=Marks | None)
FORMATS: dict[str, Writer] = {
    "table": write_table, "json": write_json, "csv": write_csv, "markdown": write_markdown,
    "sarif": write_sarif, "junit": write_junit,
}


def render(fmt: str, a: Analysis, only_failed: bool = False, config: str | None = None) -> str:
    """The output of format `fmt` as one string (for small runs, a report's files, tests)."""
    out = io.StringIO()
    FORMATS[fmt](a, out, only_failed, config=config)
    return out.getvalue()


# The formats as strings, by their old names (the report writes its data files with these).
to_table, to_json, to_csv, to_markdown, to_sarif, to_junit = (
    partial(render, fmt) for fmt in ("table", "json", "csv", "markdown", "sarif", "junit"))
