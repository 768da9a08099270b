"""`toolman-kit suggest`: the proven values override (chart/suggest.py) as a values file that
`helm install -f` accepts, as JSON (schemas/suggestion.schema.json) or as Markdown for a
pull-request comment.

Exit status: 0 a suggestion was made (what values cannot fix is listed, not an error); 2 usage or
input error, e.g. a chart that does not render with the starting values (Helm's message).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from toolman_kit.chart.candidates import Failure
    from toolman_kit.chart.suggest import Suggestion

WIDTH = 100
CHECKLIST_FIELDS = ["workload", "component", "current_state", "status", "action"]


def add_suggest_command(subparsers: Any, add_kube_version_option: Callable) -> None:
    p = subparsers.add_parser(
        "suggest", help="write a values override that fixes what values can, proven by renders",
        description="Find the values that make failing checks pass, from the chart itself (the "
                    "keys that control each failing field, well-known keys, commented-out "
                    "blocks, values.schema.json) and the profile; keep each only when a "
                    "re-render proves that it fixes something and introduces nothing; write "
                    "the override to put after your values, and what values cannot fix.")
    p.add_argument("--chart", metavar="DIR", required=True, help="the Helm chart directory")
    p.add_argument("-f", "--values", dest="files", action="append", default=[],
                   metavar="FILE", help="your values (repeatable, later wins): the start")
    p.add_argument("--set", action="append", default=[], metavar="K=V", dest="set_values",
                   help="your --set values (helm syntax; they win over the suggestion)")
    p.add_argument("--release", default="release-name", help="release name")
    p.add_argument("-n", "--namespace", help="release namespace (default: default)")
    p.add_argument("--profile", default="production",
                   help="built-in profile name or profile YAML file (default: production)")
    add_kube_version_option(p)
    p.add_argument("--format", choices=tuple(FORMATS), default="yaml",
                   help="yaml: the values file (default); json; markdown")
    p.add_argument("-o", "--output", help="write to this file (atomically) instead of stdout")
    p.add_argument("--max-renders", type=int, default=None, metavar="N",
                   help="bound on renders (provenance and candidates; default 1000); what was "
                        "not tried is listed")
    p.add_argument("-j", "--jobs", type=int, metavar="N",
                   help="render processes (default: the CPU count)")
    p.set_defaults(run=_suggest)


def _suggest(args: argparse.Namespace) -> int:
    from toolman_kit.atomic import write_atomic
    from toolman_kit.chart.suggest import DEFAULT_MAX_RENDERS, suggest

    s = suggest(args.chart, args.files, args.set_values, release=args.release,
                namespace=args.namespace, profile=args.profile, kube_version=args.kube_version,
                max_renders=DEFAULT_MAX_RENDERS if args.max_renders is None
                else args.max_renders, jobs=args.jobs, progress=sys.stderr)
    output = FORMATS[args.format](s)
    if args.output:
        write_atomic(args.output, output)
    else:
        sys.stdout.write(output)
    print(f"suggest: {_counts(s)} ({s.renders} renders, {s.seconds:.1f}s)", file=sys.stderr)
    return 0


def _counts(s: Suggestion) -> str:
    return (f"{len(s.fixed)} failing checks fixed, {len(s.introduced)} introduced, "
            f"{len(s.remaining)} remain")


# --- the document ------------------------------------------------------------------------------

def _object(f: Failure) -> dict[str, Any]:
    return {"row": f.row or None, "check_id": f.check_id, "severity": f.severity,
            "object": f.object, "container": f.container or None}


def _records(df: Any) -> list[dict[str, Any]]:
    return json.loads(df[CHECKLIST_FIELDS].to_json(orient="records", force_ascii=False))


def document(s: Suggestion) -> dict[str, Any]:
    """The JSON of `--format json` (schemas/suggestion.schema.json)."""
    from toolman_kit import __version__
    from toolman_kit.chart.valuesfile import show

    def keys(ks: list[tuple[str, ...]]) -> list[str]:
        return [show(k) for k in dict.fromkeys(ks)]

    return {
        "tool": {"name": "toolman-kit", "version": __version__},
        "chart": {"path": str(s.chart), "name": s.name, "version": s.version},
        "profile": s.profile, "kube_version": s.kube_version, "release": s.release,
        "namespace": s.namespace, "start": {"files": s.files, "set": s.set_values},
        "values": s.values,
        "suggestions": [{"keys": keys(c.keys), "why": c.why, "note": c.note or None,
                         "partner_of": keys(step.candidates[0].keys) if i else None,
                         "fixes": [_object(f) for f in step.fixed] if not i else [],
                         "introduces": [_object(f) for f in step.introduced] if not i else []}
                        for step in s.steps for i, c in enumerate(step.candidates)],
        "fixed": [{**_object(f), "keys": keys(ks)} for f, ks in s.fixed],
        "remaining": [{**_object(f), "path": f.path, "reason": u.reason, "kind": u.kind,
                       "template": u.template or None} for f, u in s.remaining],
        "introduced": [{**_object(f), "keys": keys(ks), "resolve": resolve}
                       for f, ks, resolve in s.introduced],
        "checklist_before": _records(s.before.checklist),
        "checklist_after": _records(s.after.checklist),
        "renders": {"count": s.renders, "max": s.max_renders, "not_tried": s.not_tried},
    }


def to_json(s: Suggestion) -> str:
    return json.dumps(document(s), indent=2, ensure_ascii=False) + "\n"


# --- the values file ----------------------------------------------------------------------------

def _rows(s: Suggestion, fixed: list[Failure]) -> list[str]:
    """"PDB ❌ → ✅ (pdb-missing)" for the checklist rows the failures are in."""
    from toolman_kit.judge.checklist import SYMBOL

    def statuses(checklist: Any) -> dict[tuple[str, str, str], str]:
        return {(w, ns, c): st for w, ns, c, st in checklist[
            ["workload", "namespace", "component", "status"]].itertuples(index=False)}

    before, after = statuses(s.before.checklist), statuses(s.after.checklist)
    labels = {(w.kind, w.namespace, w.name): s.before.index.label(w)
              for w in s.before.index.workloads}
    many = len(labels) > 1
    out: dict[str, list[str]] = {}  # line → check ids, or containers
    for f in fixed:
        label = labels.get((f.kind, f.namespace, f.name))
        key = (label, f.namespace, f.row)
        if f.row and key in before:
            text = f"{f.row} {SYMBOL.get(before[key], '·')} → {SYMBOL.get(after.get(key), '·')}"
            text += f" on {label}" if many else ""
            item = f.check_id
        else:
            text, item = f"{f.check_id} fixed on {f.object}", f.container
        out.setdefault(text, [])
        if item and item not in out[text]:
            out[text].append(item)
    return [f"{text} ({', '.join(items)})" if items else text for text, items in out.items()]


def _comments(s: Suggestion) -> dict[tuple[str, ...], list[str]]:
    """The comment lines above each key: what it fixes, why this value, what to make sure of."""
    from toolman_kit.chart.valuesfile import show

    out: dict[tuple[str, ...], list[str]] = {}
    for step in s.steps:
        for i, c in enumerate(step.candidates):
            lines = []
            if i == 0:
                lines += [f"{row}." for row in _rows(s, step.fixed)]
            else:
                main = ", ".join(f"{show(k)}" for k in step.candidates[0].keys)
                checks = ", ".join(dict.fromkeys(t[0] for t in c.targets))
                lines.append(f"With {main}: resolves {checks}, which {main} alone introduces.")
            lines.append(_sentence(c.why))
            if c.note:
                lines.append(f"Note: {c.note.rstrip('.')}.")
            if i == 0 and step.introduced:
                lines += [f"Trade-off: introduces {f.check_id} on {f.where()} (less severe than "
                          "what it fixes)." for f in step.introduced]
            out.setdefault(_anchor(c.keys), []).extend(lines)
    return out


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _anchor(keys: list[tuple[str, ...]]) -> tuple[str, ...]:
    """Where a candidate's comment goes: above the deepest map holding all its keys."""
    common: tuple[str, ...] = keys[0]
    for k in keys[1:]:
        n = 0
        while n < min(len(common), len(k)) and common[n] == k[n]:
            n += 1
        common = common[:n]
    return common or keys[0]


def to_yaml(s: Suggestion) -> str:
    """The override as a values file: only the keys that change, each with its comments."""
    starting = ", ".join(s.files) or "the chart defaults"
    install = " ".join(["helm upgrade --install", s.release, str(s.chart), "-n", s.namespace,
                        *(f"-f {f}" for f in s.files), "-f <this file>",
                        *(f"--set {e}" for e in s.set_values)])
    head = [f"Suggested values for {s.name} {s.version}, written by toolman-kit and proven by "
            f"rendering and checking the chart with them (profile {s.profile}, Kubernetes "
            f"{s.kube_version}), after {starting}: {_counts(s)}.", f"Use: {install}"]
    if s.remaining:
        head.append("What values cannot fix: toolman-kit suggest --format markdown (or json).")
    lines = [f"# {line}" for text in head for line in textwrap.wrap(text, WIDTH - 2)]
    comments = _comments(s)
    whole = {k for step in s.steps for c in step.candidates for k in c.keys}
    leaves = {k for k in whole if not any(o != k and o[:len(k)] == k for o in whole)}
    body = _emit(s.values, (), comments, leaves, _defaults_order(s), 0)
    return "\n".join(lines) + "\n\n" + ("\n".join(body) if body else "{}") + "\n"


def _defaults_order(s: Suggestion) -> Callable[[tuple[str, ...], list[str]], list[str]]:
    """Keys in the order values.yaml has them, live or commented out (new ones after, in the
    order they came)."""
    def order(path: tuple[str, ...], keys: list[str]) -> list[str]:
        last = max(s.lines.values(), default=0) + 1
        return sorted(keys, key=lambda k: (s.lines.get((*path, k), last), keys.index(k)))
    return order


def _emit(node: dict[str, Any], path: tuple[str, ...],
          comments: dict[tuple[str, ...], list[str]], leaves: set[tuple[str, ...]],
          order: Callable, indent: int) -> list[str]:
    pad = " " * indent
    out = []
    for k in order(path, list(node)):
        here = (*path, k)
        for text in comments.get(here, []):
            out += [f"{pad}# {line}" for line in textwrap.wrap(text, WIDTH - indent - 2)]
        value = node[k]
        if isinstance(value, dict) and value and here not in leaves:
            out.append(f"{pad}{_key(k)}:")
            out += _emit(value, here, comments, leaves, order, indent + 2)
        else:
            dumped = yaml.dump({k: value}, Dumper=_Dumper, default_flow_style=False,
                               sort_keys=False, allow_unicode=True, width=WIDTH)
            out += [pad + line for line in dumped.rstrip("\n").split("\n")]
    return out


def _key(k: str) -> str:
    return yaml.dump(k, Dumper=_Dumper).split("\n")[0]


class _Dumper(yaml.SafeDumper):
    """Every value written out where it is (no &anchors and *aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# --- Markdown -----------------------------------------------------------------------------------

def to_markdown(s: Suggestion) -> str:
    """The before/after checklist and the lists: for a pull-request comment."""
    import pandas as pd

    from toolman_kit.chart.valuesfile import show
    from toolman_kit.judge.checklist import SYMBOL
    from toolman_kit.present.formats import _md, markdown_table

    def keys(ks: list[tuple[str, ...]]) -> str:
        return ", ".join(f"`{_md(show(k))}`" for k in dict.fromkeys(ks)) or "—"

    def what(f: Failure) -> str:
        row = f"**{_md(f.row)}** " if f.row else ""
        return f"{row}{_md(f.check_id)} on {_md(f.where())}"

    before = s.before.checklist.set_index(["workload", "namespace", "component"])
    after = s.after.checklist.set_index(["workload", "namespace", "component"])
    rows = [{"workload": w, "component": c,
             "before": f"{SYMBOL.get(b.status, '')} {b.current_state}",
             "after": f"{SYMBOL.get(after.loc[(w, ns, c)].status, '')} "
                      f"{after.loc[(w, ns, c)].current_state}" if (w, ns, c) in after.index
             else "—"} for (w, ns, c), b in before.iterrows()]
    parts = [f"# Suggested values for {_md(s.name)} {_md(s.version)}", "",
             f"Profile **{_md(s.profile)}**, Kubernetes {_md(s.kube_version)}, after "
             f"{_md(', '.join(s.files) or 'the chart defaults')}: {_counts(s)} "
             f"({s.renders} renders). Every value was proven by rendering the chart with it and "
             "re-running the checks.", "", "## Checklist before and after", "",
             markdown_table(pd.DataFrame(rows, columns=["workload", "component", "before",
                                                        "after"]),
                            {"workload": "Workload", "component": "Component",
                             "before": "Before", "after": "With the suggestion"})]
    parts += ["", "## Fixed", ""] + ([f"- {what(f)}: {keys(ks)}" for f, ks in s.fixed]
                                    or ["Nothing."])
    parts += ["", "## What values cannot fix", ""] + (
        [f"- {what(f)}: {_md(u.reason)}" + (f" (`{_md(u.template)}`)" if u.template else "")
         for f, u in s.remaining] or ["Nothing: every failure was fixed."])
    if s.introduced:
        parts += ["", "## Introduced (trade-offs)", ""] + [
            f"- {what(f)}, by {keys(ks)}: {_md(resolve)}" for f, ks, resolve in s.introduced]
    if s.not_tried:
        parts += ["", "## Not tried", ""] + [f"- {_md(t)}" for t in s.not_tried]
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", s.text)), default=0))
    parts += ["", "## The values", "", f"{fence}yaml", s.text.rstrip("\n"), fence]
    return "\n".join(parts) + "\n"


FORMATS: dict[str, Callable[[Any], str]] = {"yaml": lambda s: s.text, "json": to_json,
                                             "markdown": to_markdown}
