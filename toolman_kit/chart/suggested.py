"""The suggested values file: the override of `toolman-kit suggest` (chart/suggest.py) with a
comment above each key: the checklist row it fixes and how (`# PDB ❌ → ✅ (pdb-missing).`), why
this value and where it comes from, and what the user must still make sure of."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

from toolman_kit.chart.valuesfile import Key, dump_values, show
from toolman_kit.judge.checklist import SYMBOL

if TYPE_CHECKING:
    from toolman_kit.chart.candidates import Failure
    from toolman_kit.chart.suggest import Suggestion

WIDTH = 100


def counts(s: Suggestion) -> str:
    return (f"{len(s.fixed)} failing checks fixed, {len(s.introduced)} introduced, "
            f"{len(s.remaining)} remain")


def to_yaml(s: Suggestion) -> str:
    """The override as a values file: only the keys that change, each with its comments, in the
    order of the chart's values.yaml."""
    starting = ", ".join(s.files) or "the chart defaults"
    install = " ".join(["helm upgrade --install", s.release, str(s.chart), "-n", s.namespace,
                        *(f"-f {f}" for f in s.files), "-f <this file>",
                        *(f"--set {e}" for e in s.set_values)])
    head = [f"Suggested values for {s.name} {s.version}, written by toolman-kit and proven by "
            f"rendering and checking the chart with them (profile {s.profile}, Kubernetes "
            f"{s.kube_version}), after {starting}: {counts(s)}.", f"Use: {install}"]
    if s.remaining:
        head.append("What values cannot fix: toolman-kit suggest --format markdown (or json).")
    lines = [f"# {line}" for text in head
             for line in textwrap.wrap(text, WIDTH - 2, break_on_hyphens=False)]
    whole = {k for step in s.steps for c in step.candidates for k in c.keys}
    leaves = {k for k in whole if not any(o != k and o[:len(k)] == k for o in whole)}
    body = dump_values(s.values, _comments(s), leaves, s.lines, WIDTH)
    return "\n".join(lines) + "\n\n" + body


def _rows(s: Suggestion, fixed: list[Failure]) -> list[str]:
    """"PDB ❌ → ✅ (pdb-missing)" for the checklist rows the failures are in."""

    def statuses(a: Any) -> dict[tuple[str, str, str], str]:
        return {(r[0], r[1], r[2]): r[4] for r in a.checklist_rows}

    before, after = statuses(s.before), statuses(s.after)
    labels = {(w.kind, w.namespace, w.name): s.before.index.label(w)
              for w in s.before.index.workloads}
    many = len(labels) > 1
    out: dict[str, list[str]] = {}  # line → check ids, or containers
    for f in fixed:
        label = labels.get((f.kind, f.namespace, f.name))
        key = (label, f.namespace, f.row)
        if f.row and key in before and before[key] != after.get(key):
            text = f"{f.row} {SYMBOL.get(before[key], '·')} → {SYMBOL.get(after.get(key), '·')}"
            text += f" on {label}" if many else ""
            item = f.check_id
        else:  # no row, or a row that other failures keep as it was: say what did change
            text, item = f"{f.check_id} fixed on {f.object}", f.container
            if f.row and key in before:
                text = f"{f.row} stays {SYMBOL.get(before[key], '·')}: {text}"
        out.setdefault(text, [])
        if item and item not in out[text]:
            out[text].append(item)
    return [f"{text} ({', '.join(items)})" if items else text for text, items in out.items()]


def _comments(s: Suggestion) -> dict[Key, list[str]]:
    """The comment lines above each key: what it fixes, why this value, what to make sure of."""
    out: dict[Key, list[str]] = {}
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


def _anchor(keys: list[Key]) -> Key:
    """Where a candidate's comment goes: above the deepest map holding all its keys."""
    common: Key = keys[0]
    for k in keys[1:]:
        n = 0
        while n < min(len(common), len(k)) and common[n] == k[n]:
            n += 1
        common = common[:n]
    return common or keys[0]
