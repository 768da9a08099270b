"""The report's prose and lists, generated from the findings: every sentence states a fact of the
analysis, so the text changes with the input.

Everything returned is Markdown. Manifest-derived text (names, images, messages that quote them)
goes through text.md_cell or markdown_table; only our own words are written as markup.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from toolman_kit.analysis import Analysis
from toolman_kit.chart.render import Rendered
from toolman_kit.comparison import Comparison
from toolman_kit.judge.checklist import SYMBOL
from toolman_kit.judge.findings import SEVERITY_ORDER, StatusName
from toolman_kit.judge.pss import pod_security
from toolman_kit.judge.registry import catalogue
from toolman_kit.present import views
from toolman_kit.present.formats import markdown_table
from toolman_kit.present.sections import findings_link
from toolman_kit.present.views import HANDFUL
from toolman_kit.read.manifests import LoadError
from toolman_kit.text import and_join, md_cell, plural

# Checks whose failures matter most, in order; the others follow (by severity first, always).
IMPORTANCE = (
    "container-runtime-socket-exposed", "privileged-container", "host-namespaces",
    "host-path-volume", "secret-in-env-value", "mount-undefined-volume", "volume-without-source",
    "replicas-below-minimum", "rwo-volume-shared-by-replicas", "image-tag-mutable",
    "network-policy-missing", "network-policy-namespace-label", "pdb-blocks-eviction",
    "liveness-probe-missing", "readiness-probe-missing", "pdb-missing", "anti-affinity-missing",
)
ROLE_TITLE = {"main": "Main Container", "sidecar": "Sidecar Container", "init": "Init Container"}
VOLUME_CHECKS = ("mount-undefined-volume", "volume-without-source")


def _title(a: Analysis, check_id: str) -> str:
    """The check's title from the run's own checks, so that policies and profile rules have
    theirs (escaped: a policy shipped in the manifests names itself; built-in titles are ours)."""
    c = a.checks.get(check_id)
    if c is None:
        return md_cell(check_id)
    return c.title if check_id in catalogue() else md_cell(c.title)


class _Group(NamedTuple):
    check_id: str
    severity: str
    rows: pd.DataFrame


def _groups(a: Analysis, status: StatusName = "fail") -> list[_Group]:
    """Findings of one status grouped by check, most important first."""
    rows = a.findings[a.findings["status"] == status]
    groups = [_Group(str(cid), str(part["severity"].iloc[0]), part)
              for cid, part in rows.groupby("check_id", sort=False)]
    return sorted(groups, key=lambda g: (
        SEVERITY_ORDER.get(g.severity, 3), IMPORTANCE.index(g.check_id)
        if g.check_id in IMPORTANCE else len(IMPORTANCE), -len(g.rows), g.check_id))


def _more(n: int, href: str | None) -> str:
    return f"[+{n} more]({href})" if href else f"+{n} more"


def _targets(rows: pd.DataFrame) -> str:
    """The objects a group of findings is about, each with its containers: a handful, then
    "+N more" linking to the page's full table of failures."""
    objects: dict[str, list[str]] = {}
    for kind, name, container in zip(rows["kind"], rows["name"], rows["container"], strict=True):
        names = objects.setdefault(f"{kind}/{name}", [])
        if isinstance(container, str) and container and container not in names:
            names.append(container)
    shown = ", ".join(md_cell(obj) + (f" ({md_cell(', '.join(cs))})" if cs else "")
                      for obj, cs in list(objects.items())[:HANDFUL])
    if len(objects) > HANDFUL:
        shown += " " + _more(len(objects) - HANDFUL, findings_link(str(rows["area"].iloc[0])))
    return shown


def _inputs(a: Analysis) -> str:
    # load() takes a string holding a newline as literal YAML and records it as its input
    return ", ".join("text" if "\n" in i else md_cell(Path(i).name)
                     for i in a.manifests.inputs) or "no input"


def _workloads(a: Analysis) -> str:
    names = [md_cell(f"{w.kind}/{w.name}") for w in a.index.workloads]
    more = f" {_more(len(names) - HANDFUL, 'index.html#overview')}" \
        if len(names) > HANDFUL else ""
    return ", ".join(names[:HANDFUL]) + more or "no workload"


def _verdict(a: Analysis) -> str:
    c = views.checklist_counts(a)
    f = c["findings"]
    rows = f"{c['fail']} checklist rows ❌ and {c['warning']} ⚠️ (of {sum(c[s] for s in SYMBOL)})"
    errors = f"; {plural(len(a.errors), 'input or check error')}" if a.errors else ""
    if not a.index.workloads:
        return "**Nothing to assess**: the manifests hold no workload (no pod template)" \
            + errors + "."
    if f["error"] == 0 and not a.errors:
        return (f"**Production-ready** against this profile: no blocking finding; "
                f"{plural(f['warning'], 'warning')} and {f['info']} info remain, {rows}.")
    return (f"**Not production-ready**: {rows}; {plural(f['error'], 'blocking finding')}, "
            f"{plural(f['warning'], 'warning')} and {f['info']} info{errors}.")


def _rows_text(df: pd.DataFrame) -> str:
    """Checklist rows named once each, with how many workloads when several."""
    counted = df["component"].value_counts(sort=False)
    several = df["workload"].nunique() > 1
    return ", ".join(md_cell(c) + (f" ({n} workloads)" if several and n > 1 else f" ({w})"
                               if several else "")
                     for (c, n), w in zip(counted.items(), df.drop_duplicates("component")[
                         "workload"], strict=True))


ROW_CLAUSES = (("fixed", "fixes {}"), ("improved", "improves {}"),
               ("still failing", "leaves {} failing"), ("worse", "makes {} worse"),
               ("removed", "removes {}"), ("added", "adds {}"))


def row_changes(c: Comparison) -> list[tuple[str, str]]:
    """(change, "Fixes: Replicas, PDB …") for each kind of checklist change, for lists."""
    rows, out = c.checklist, []
    for change, clause in ROW_CLAUSES:
        part = rows[rows["change"] == change]
        if change in ("removed", "added"):
            if len(part):
                what = views.capped(list(dict.fromkeys(part["workload"])))
                out.append((change, f"{change.capitalize()} with the values: {md_cell(what)}"))
        elif len(part):
            out.append((change, clause.format(_rows_text(part)).capitalize()))
    return out


def _comparison(c: Comparison) -> str:
    rows = c.checklist
    clauses = []
    for change, clause in ROW_CLAUSES[:4]:
        part = rows[rows["change"] == change]
        if len(part):
            clauses.append(clause.format(f"{plural(len(part), 'checklist row')} "
                                         f"({_rows_text(part)})"))
    gone = rows[rows["change"].isin(("removed", "added"))]
    n = c.counts()
    new = c.findings[c.findings["change"] == "introduced"]["check_id"]
    text = (f"Compared with the baseline ({md_cell(c.names[0])}), {md_cell(c.names[1])} "
            + (and_join(clauses) if clauses else "changes no checklist row") + ". "
            f"Finding by finding: {n['fixed']} failures fixed, {n['introduced']} introduced, "
            f"{n['unchanged']} unchanged")
    if n["removed"] or n["added"]:
        text += (f", {n['removed']} removed and {n['added']} added with their workloads "
                 f"({md_cell(views.capped(list(dict.fromkeys(gone['workload']))))})")
    text += "."
    if len(new):
        text += " New failures: " + "; ".join(_title(c.candidate, cid)
                                              for cid in dict.fromkeys(new)) + "."
    return text


def _comparisons(a: Analysis, baseline: Analysis | None,
                 comparisons: list[Comparison] | None) -> list[Comparison]:
    if comparisons is not None:
        return comparisons
    if baseline is None:
        return []
    return [Comparison(baseline, a, (baseline.values_set or "baseline",
                                      a.values_set or "candidate"))]


def executive_summary(a: Analysis, baseline: Analysis | None = None, *,
                      comparisons: list[Comparison] | None = None) -> str:
    """What was analyzed, the verdict, the most important facts and, with a baseline (or several
    `comparisons` with a reference), what the candidate fixes, leaves and makes worse."""
    kinds = Counter(r.kind for r in a.manifests)
    roles = Counter(c.role for w in a.index.workloads for c in w.containers)
    role_text = ", ".join(f"{roles[r]} {r}" for r in ROLE_TITLE if roles[r])
    parts = [
        f"Analyzed {plural(len(a.manifests), 'object')} "
        f"({', '.join(f'{n} {md_cell(k)}' for k, n in kinds.items()) or 'none'}) from {_inputs(a)}"
        + (f" ({md_cell(a.values_set)})" if a.values_set else "") + ": "
        f"{plural(len(a.index.workloads), 'workload')} ({_workloads(a)}) with "
        f"{plural(sum(roles.values()), 'container')}" + (f" ({role_text})" if role_text else "")
        + f", against the **{md_cell(a.profile.name)}** profile.",
        _verdict(a)]
    facts = _groups(a)[:4]
    if facts:
        parts.append("The most important findings:\n\n" + "\n".join(
            f"- **{_title(a, cid)}** — {_targets(rows)}: {md_cell(rows['message'].iloc[0])}"
            + (f" (+{len(rows) - 1} more)" if len(rows) > 1 else "") for cid, _, rows in facts))
    parts += [_comparison(c) for c in _comparisons(a, baseline, comparisons)]
    return "\n\n".join(parts)


def _error(e: Any, where: views.Locations) -> str:
    """An input error, its place named as the user can open it (a chart's template)."""
    if isinstance(e, LoadError):
        return f"{where(e.file, e.line)}: {e.message}"
    return str(e)


def identified_issues(a: Analysis, rendered: Rendered | None = None) -> list[str]:
    """One item per failing check with the objects it hits, most severe first; input errors lead
    (placed in the chart's templates with the `rendered` chart), accepted (exempt) risks close
    the list."""
    where = views.Locations(rendered)
    items = [f"**Input error** — {md_cell(_error(e, where))}" for e in a.errors]
    for cid, severity, rows in _groups(a):
        messages = list(dict.fromkeys(rows["message"]))
        shown = "; ".join(md_cell(m) for m in messages[:3])
        more = f"; and {len(messages) - 3} more" if len(messages) > 3 else ""
        items.append(f"**{_title(a, cid)}** ({severity}) — {_targets(rows)}: {shown}{more}.")
    for cid, _, rows in _groups(a, "exempt"):
        reasons = "; ".join(md_cell(r) for r in dict.fromkeys(rows["exempt_reason"]))
        items.append(f"**{_title(a, cid)}** (accepted risk) — {_targets(rows)}: {reasons}.")
    return items


def recommendations(a: Analysis) -> dict[str, list[str]]:
    """Imperative remediations with where they apply, each led by its check's title (a
    remediation may be as short as "Increase to 3"): "immediate" for blockers (errors), "future"
    for warnings and info."""
    result: dict[str, list[str]] = {"immediate": [], "future": []}
    for cid, severity, rows in _groups(a):
        for remediation, part in rows.groupby("remediation", sort=False):
            result["immediate" if severity == "error" else "future"].append(
                f"**{_title(a, cid)}.** {md_cell(str(remediation).rstrip('.'))} — "
                f"{_targets(part)}.")
    return result


def validation_results(a: Analysis, rendered: Rendered | None = None) -> list[tuple[bool, str]]:
    """(passed, text) lines: helm lint and rendering (with a Rendered), loading, security context
    (Pod Security level), resource quantities, field types and volume mounts."""
    results = []
    if rendered is not None:
        severities = Counter(m.severity for m in rendered.lint)
        detail = ", ".join(plural(severities[s], f"{s} message")
                           for s in ("error", "warning", "info") if severities[s])
        about = "; ".join(dict.fromkeys(md_cell(m.message) for m in rendered.lint))
        results.append((not severities["error"],
                        f"Helm lint: {'Failed' if severities['error'] else 'Passed'} "
                        + (f"({detail}: {about})" if detail else "(no messages)")))
        results.append((True, f"Template rendering: Successful ({md_cell(rendered.backend)}, "
                              f"{plural(len(rendered.values_files), 'values file')})"))
    where = views.Locations(rendered)
    errors = "; ".join(md_cell(_error(e, where)) for e in a.errors[:3]) \
        + ("; …" if len(a.errors) > 3 else "")
    results.append((not a.errors, f"Manifests loaded: {plural(len(a.manifests), 'object')} from "
                                  f"{plural(len(a.manifests.inputs), 'input')}"
                    + (f"; {plural(len(a.errors), 'error')}: {errors}" if a.errors else "")))
    levels = pod_security(a.index)
    by_level: dict[str, list[str]] = {}  # one clause per level and violated controls
    for p in levels:
        controls = ", ".join(sorted({v["control"] for v in p.violations}))
        by_level.setdefault(p.level + (f" (violates {controls})" if controls else ""),
                            []).append(f"{p.kind}/{p.name}")
    text = "; ".join(f"{md_cell(views.capped(pods))} {md_cell(level)}" if len(pods) <= HANDFUL
                     else f"{len(pods)} pods {md_cell(level)}"
                     for level, pods in by_level.items()) or "no pods"
    results.append((all(p.level != "privileged" for p in levels),
                    f"Security context: Pod Security Standards level — {text}"))
    invalid = [(w, path, problem) for w in a.index.workloads for path, problem in w.invalid]
    quantities = [(w, path, problem) for w, path, problem in invalid if ".resources." in path]
    fields = [(w, path, problem) for w, path, problem in invalid if ".resources." not in path]
    for ok_text, bad_text, found in (
            ("Resource definitions: Valid (every quantity parses)", "Resource definitions",
             quantities),
            ("Pod specs: Well-formed (every field has its type)", "Pod specs", fields)):
        results.append((not found, ok_text if not found else f"{bad_text}: " + "; ".join(
            md_cell(f"{w.kind}/{w.name} {path}: {problem}") for w, path, problem in found[:HANDFUL])
            + (f"; +{len(found) - HANDFUL} more" if len(found) > HANDFUL else "")))
    broken = a.findings[a.findings["check_id"].isin(VOLUME_CHECKS)
                        & (a.findings["status"] == "fail")]
    mounts = sum(len(c.mounts) for w in a.index.workloads for c in w.containers)
    volumes = sum(len(w.volumes) for w in a.index.workloads)
    messages = list(dict.fromkeys(broken["message"]))
    results.append((broken.empty, f"Volume mounts: Correctly mapped ({plural(mounts, 'mount')} "
                                  f"onto {plural(volumes, 'volume')})" if broken.empty else
                    "Volume mounts: " + "; ".join(md_cell(m) for m in messages[:HANDFUL])
                    + (f"; +{len(messages) - HANDFUL} more" if len(messages) > HANDFUL else "")))
    return results


def conclusion(a: Analysis, baseline: Analysis | None = None, *,
               comparisons: list[Comparison] | None = None) -> str:
    """The verdict in a paragraph: what blocks production, what the candidate values changed, and
    the privileged containers that shape the pod's security."""
    groups = _groups(a)
    errors = [g for g in groups if g.severity == "error"]
    warnings = [g for g in groups if g.severity != "error"]
    who = _workloads(a)
    if not a.index.workloads:
        return "Without a workload there is no production readiness to judge; " \
            f"{plural(len(a.errors), 'input error')} reported."
    if not errors and not a.errors:
        text = (f"{who} meets every blocking check of the **{md_cell(a.profile.name)}** profile"
                + (f"; {plural(sum(len(g.rows) for g in warnings), 'finding')} in "
                   f"{plural(len(warnings), 'check')} remain worth fixing, chiefly "
                   f"{and_join([_title(a, g.check_id) for g in warnings[:2]])}" if warnings else "")
                + ".")
    else:
        led = "; ".join(_title(a, g.check_id) for g in errors[:3])
        text = (f"{who} is not production-ready against the **{md_cell(a.profile.name)}** profile: "
                f"{plural(sum(len(g.rows) for g in errors), 'blocking finding')} in "
                f"{plural(len(errors), 'check')} remain" + (f", led by: {led}" if led else "")
                + (f"; {plural(len(a.errors), 'input error')} must be resolved first"
                   if a.errors else "") + ".")
    for c in _comparisons(a, baseline, comparisons):
        blocking = c.findings[c.findings["severity"] == "error"]
        n = blocking["change"].value_counts()
        before = int(n.get("fixed", 0) + n.get("unchanged", 0) + n.get("removed", 0))
        text += (f" The candidate values ({md_cell(c.names[1])}) fix {n.get('fixed', 0)} of the "
                 f"baseline's ({md_cell(c.names[0])}) {before} blocking failures and introduce "
                 f"{n.get('introduced', 0)}"
                 + (f"; {n.get('removed', 0)} go with the workloads they remove"
                    if n.get("removed", 0) else "") + ".")
    sockets = views.runtime_sockets(a)
    for _, r in sockets.groupby(["container", "image", "socket_volumes", "shared_with"],
                                sort=False).head(1).iterrows():
        same = sockets[(sockets["container"] == r.container) & (sockets["image"] == r.image)]
        where = views.capped(list(same["workload"]))
        serves = f" and serves a container runtime socket through {md_cell(r.socket_volumes)} to " \
                 f"{md_cell(r.shared_with)}" if r.shared_with else ""
        text += (f" {md_cell(r.container)} ({md_cell(r.image)}) in {md_cell(where)} runs "
                 f"privileged ({r.reach}){serves}: its pod can only meet the privileged Pod "
                 "Security level.")
    return text


def _numbered(items: list[str], none: str) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1)) if items else none


def _table(a: Analysis, df: pd.DataFrame, columns: dict[str, str],
           vary: tuple[str, ...] = ()) -> str:
    """A Markdown table whose length follows the distinct rows, not the workloads: with several
    workloads, rows equal apart from the workload are one row with a Workloads count (`vary`
    columns, e.g. names that follow the release, are not compared)."""
    if len(a.index.workloads) <= 1 or "workload" not in df:
        return markdown_table(df, columns)
    keys = [c for c in columns if c not in vary]
    g = views.grouped(df, keys)
    g["workload"] = [_workload_names(ws) for ws in g["workloads"]]
    return markdown_table(g, {"workload": "Workloads", **columns})


def _workload_names(workloads: list[str]) -> str:
    if len(workloads) == 1:
        return workloads[0]
    return f"{len(workloads)}: {views.capped(workloads, 3)}"


def _container_lines(r: Any) -> list[str]:
    security = [f"{what} {value}" for what, value in (("UID", r.run_as_user),
                                                      ("GID", r.run_as_group))
                if pd.notna(value)]
    security += [text for flag, text in (
        (r.run_as_non_root is True, "runAsNonRoot"), (r.privileged, "**privileged**"),
        (r.read_only_root, "read-only root filesystem"),
        (not r.read_only_root, "writable root filesystem"),
        (not r.allow_privilege_escalation, "no privilege escalation")) if flag]
    security += [f"{verb} capabilities {md_cell(caps)}" for verb, caps in (
        ("drops", r.capabilities_drop), ("adds", r.capabilities_add)) if caps]
    security += [f"seccomp {md_cell(r.seccomp)}"] if r.seccomp else []
    lines = [f"   - Image: {md_cell(r.image) or 'none'} "
             f"({'pinned' if r.pinned else 'not pinned'}, pull {md_cell(r.pull_policy)})",
             f"   - Security: {', '.join(security)}",
             f"   - Resources: requests {r.cpu_request}/{r.memory_request}, "
             f"limits {r.cpu_limit}/{r.memory_limit}"]
    lines += [f"   - {label}: {md_cell(value)}" for label, value in (
        ("Ports", r.ports), ("Mounts", r.mounts)) if value]
    return lines


def _containers_section(a: Analysis) -> str:
    """Main, sidecars, then init containers (the seed's order); a container described the same
    way in several workloads is described once, with the workloads counted."""
    df = views.containers(a)
    df = df.sort_values("role", key=lambda r: r.map(list(ROLE_TITLE).index), kind="stable")
    described: dict[tuple, list[str]] = {}  # (role, name, description) → workloads
    for r in df.itertuples(index=False):
        key = (r.role, r.container, "\n".join(_container_lines(r)))
        described.setdefault(key, []).append(r.workload)
    several = len(a.index.workloads) > 1
    lines = []
    for i, ((role, container, text), where) in enumerate(described.items(), 1):
        lines.append(f"{i}. **{ROLE_TITLE.get(role, role)} ({md_cell(container)})**"
                     + (f" — {md_cell(_workload_names(where))}" if several else ""))
        lines.append(text)
    return "\n".join(lines) or "No workloads."


def _security_section(a: Analysis) -> str:
    posture = views.security_posture(a)
    parts = ["✅ **Strengths:**\n\n" + ("\n".join(f"- {md_cell(s)}" for s in posture["strengths"])
                                       or "- none found"),
             "⚠️ **Considerations:**\n\n" + ("\n".join(f"- {md_cell(s)}"
                                                     for s in posture["considerations"])
                                           or "- none: every security and network check passes")]
    sockets = views.runtime_sockets(a)
    if len(sockets):
        parts.append("Privileged containers and the sockets they serve:\n\n" + _table(
            a, sockets, {"container": "Container", "image": "Image", "reach": "Reaches on the node",
                         "socket_volumes": "Socket volumes", "shared_with": "Shared with"}))
    return "\n\n".join(parts)


def _resources_section(a: Analysis) -> str:
    """A row per container: requests and limits as cpu/memory, the profile's floors, and the
    worst status of the four (missing, below profile, ok)."""
    df = views.resources(a)
    if not len(df):
        return "No containers."
    rank = {"missing": 0, "below profile": 1, "ok": 2}
    rows = []
    for (workload, container), part in df.groupby(["workload", "container"], sort=False):
        got = {(k, r): (c or "none", p) for k, r, c, p in zip(
            part["kind"], part["resource"], part["current"], part["profile"], strict=True)}
        floor = " · ".join(f"{k} {got[(k, 'cpu')][1] or '—'}/{got[(k, 'memory')][1] or '—'}"
                           for k in ("requests", "limits")
                           if got[(k, "cpu")][1] or got[(k, "memory")][1])
        rows.append({"workload": workload, "container": container,
                     "requests": f"{got[('requests', 'cpu')][0]}/{got[('requests', 'memory')][0]}",
                     "limits": f"{got[('limits', 'cpu')][0]}/{got[('limits', 'memory')][0]}",
                     "profile": floor or "—",
                     "status": min(part["status"], key=lambda s: rank.get(s, 2))})
    return _table(a, pd.DataFrame(rows), {"container": "Container", "requests": "Requests",
                                          "limits": "Limits", "profile": "Profile floor",
                                          "status": "Status"})


AVAILABILITY_FIELDS = {"replicas": "Replicas", "hpa": "Autoscaling",
                       "anti_affinity": "Pod anti-affinity", "topology_spread": "Topology spread",
                       "pdb": "PodDisruptionBudget", "evictions": "Pods a drain may evict at once",
                       "update_strategy": "Update strategy", "priority_class": "Priority class",
                       "storage_vs_replicas": "Storage vs replicas"}


def _availability_section(a: Analysis) -> str:
    df = views.availability(a)
    df = df.assign(
        replicas=[("n/a" if pd.isna(n) else str(n)) for n in df["replicas"]],
        hpa=df["hpa"].replace("", "none"),
        priority_class=df["priority_class"].replace("", "none"),
        evictions=["no PDB" if pd.isna(n) else f"{n}" + (" (blocks node drains)" if n == 0
                                                         else "")
                   for n in df["pdb_allows_evictions"]])
    blocks = []
    if len(a.index.workloads) == 1:
        r = df.iloc[0]
        blocks.append("\n".join(f"- {label}: {md_cell(r[key])}"
                                for key, label in AVAILABILITY_FIELDS.items()))
    elif len(df):
        blocks.append(_table(a, df, AVAILABILITY_FIELDS, vary=("pdb", "storage_vs_replicas")))
    probes = views.probes(a)
    if len(probes):
        blocks.append("Health probes (Kubernetes defaults marked):\n\n" + _table(a, probes, {
            "container": "Container", "probe": "Probe", "handler": "Handler",
            "initial_delay": "Initial delay", "period": "Period", "timeout": "Timeout",
            "failure_threshold": "Failure threshold", "success_threshold": "Success threshold"}))
    return "\n\n".join(blocks) or "No workloads."


def _security_findings(a: Analysis, where: views.Locations) -> str:
    """The seed's two lists: the security facts that hold (strengths), then what to do, one row
    per distinct failing security or network problem with where it is written, after the Pod
    Security Standards level of each pod."""
    strengths = views.security_posture(a)["strengths"]
    levels = pd.DataFrame([(f"{p.kind}/{p.name}", p.level,
                            ", ".join(sorted({v["control"] for v in p.violations})) or "—")
                           for p in pod_security(a.index)],
                          columns=["workload", "level", "controls"])
    groups = views.finding_groups(a, views.CONSIDERED_AREAS)
    failed = a.findings[(a.findings["status"] == "fail")
                        & a.findings["area"].isin(views.CONSIDERED_AREAS)]
    sources = {(cid, fix): views.capped([where(f, n) for f, n in zip(
        part["file"], part["line"], strict=True)], 3)
        for (cid, fix), part in failed.groupby(["check_id", "remediation"], sort=False)}
    groups = groups.assign(objects=[views.capped(o) for o in groups["objects"]],
                           message=[m[0] + (f" (+{len(m) - 1} similar)" if len(m) > 1 else "")
                                    for m in groups["messages"]],
                           where=[sources[(c, r)] for c, r in zip(
                               groups["check_id"], groups["remediation"], strict=True)])
    return "\n\n".join([
        "### Positive Security Features",
        _numbered([_strength(s) for s in strengths], "None found."),
        "### Security Recommendations",
        "Pod Security Standards level of each pod:\n\n"
        + _table(a, levels, {"level": "Level", "controls": "Violated controls"})
        if len(levels) else "No pods.",
        markdown_table(groups, {"severity": "Severity", "check_id": "Check",
                                "objects": "Objects", "message": "Finding",
                                "remediation": "Action", "where": "Source"})
        if len(groups) else "No security or network check fails.",
        "### Admission Policies", _admission_section(a)])


def _admission_section(a: Analysis) -> str:
    """Per admission policy: where it comes from, what it rejects and warns about and why (the
    objects, and the pods of workloads), and how many objects it admits."""
    blocks = [] if a.policies else [views.NO_POLICY]
    for p in views.admission_summary(a).itertuples(index=False):
        # Pod Security admission has no file: its title says which namespaces do what
        name = p.title if p.policy == views.PSA else p.policy
        head = f"**{md_cell(name)}** ({md_cell(p.source)}): {p.outcomes}."
        g = views.admission_outcomes(a, p.policy)
        if len(g):
            head += "\n\n" + markdown_table(
                g.assign(objects=[views.capped(o) for o in g["objects"]]),
                {"objects": "Objects", "status": "Status", "severity": "Severity",
                 "message": "Message"})
        blocks.append(head)
    return "\n\n".join(blocks)

def _strength(sentence: str) -> str:
    """"Non-root execution (UID 1001): toolman" as the seed writes it: the fact in bold."""
    fact, _, who = sentence.partition(": ")
    return f"**{md_cell(fact)}**: {md_cell(who)}" if who else f"**{md_cell(fact)}**"


def _checklist_section(a: Analysis) -> str:
    """The seed's table for one workload; for several, one row per checklist row with the
    workloads counted (the HTML report has the workloads × rows matrix)."""
    cl = a.checklist
    if not len(cl):
        return "No workloads."
    if len(a.index.workloads) == 1:
        shown = cl.assign(production_ready=cl["status"].map(SYMBOL))
        return markdown_table(shown, {"component": "Component", "current_state": "Current State",
                                      "production_ready": "Production Ready",
                                      "action": "Action Required"})
    rows = views.by_component(a)

    def common(pairs: list[tuple[str, int]], k: int) -> str:
        return "; ".join(f"{v} ({n})" for v, n in pairs[:k]) + (
            f"; +{len(pairs) - k} more" if len(pairs) > k else "")

    rows = rows.assign(
        ready=[" · ".join(f"{SYMBOL[s]} {r[s]}" for s in ("fail", "warning", "pass") if r[s])
               for _, r in rows.iterrows()],
        state=[common(p, 3) for p in rows["states"]],
        action=[common(p, 2) or "—" for p in rows["actions"]])
    return markdown_table(rows, {"component": "Component", "ready": "Workloads",
                                 "state": "Current State (workloads)",
                                 "action": "Action Required (workloads)"})


def _override_section(c: Comparison, a: Analysis) -> str:
    rows = c.checklist
    rows = rows.assign(before=rows["baseline_status"].map(SYMBOL).fillna(""),
                       after=rows["candidate_status"].map(SYMBOL).fillna(""))
    return _comparison(c) + "\n\n" + _table(a, rows, {
        "component": "Component", "baseline_state": "Baseline", "before": "Baseline ready",
        "candidate_state": "Candidate", "after": "Candidate ready", "change": "Change"},
        vary=("baseline_state", "candidate_state"))


def markdown_report(a: Any, baseline: Analysis | None = None,
                    rendered: Rendered | None = None, title: str | None = None,
                    config: str | None = None) -> str:
    """The whole report in the seed's section structure: for an Analysis (a baseline adds the
    comparison), or for the named sets of a report (present.inputs.Inputs: the last set is the
    subject, each other set is compared with the first). Its length follows the distinct
    problems: what several workloads share is written once, with the workloads counted. The
    configuration file in use (`config`) is named under the title."""
    comparisons = _comparisons(a, baseline, None) if isinstance(a, Analysis) else \
        [c for _, c in a.comparisons()]
    if not isinstance(a, Analysis):
        rendered, a = a.rendered.get(a.label), a.analysis
    names = list(dict.fromkeys(w.name for w in a.index.workloads))
    heading = md_cell(title) if title else \
        f"{md_cell(views.capped(names))} Deployment Analysis Report".strip()
    recs = recommendations(a)
    volumes = views.volumes(a)
    sections = [
        f"# {heading}", *([f"Configuration: {md_cell(config)}"] if config else []),
        "## Executive Summary", executive_summary(a, comparisons=comparisons),
        "## Current Deployment Configuration",
        "### Container Architecture", _containers_section(a),
        "### Security Assessment", _security_section(a),
        "### Resource Management", _resources_section(a),
        "### High Availability Features", _availability_section(a),
        "### Volume Configuration", _table(a, volumes, {
            "volume": "Volume", "type": "Type", "source": "Source", "mounted_by": "Mounted by",
            "findings": "Failing checks"}, vary=("source",)) if len(volumes) else "No volumes.",
        "## Production Readiness Checklist", _checklist_section(a),
        "## Security Findings", _security_findings(a, views.Locations(rendered))]
    for c in comparisons:
        sections += ["## Production Values Override" + (
            f" ({md_cell(c.names[1])})" if len(comparisons) > 1 else ""), _override_section(c, a)]
    sections += [
        "## Identified Issues", _numbered(identified_issues(a, rendered), "No failing checks."),
        "## Recommendations",
        "### Immediate Actions", _numbered(recs["immediate"], "No blockers."),
        "### Future Improvements", _numbered(recs["future"], "Nothing further."),
        "## Validation Results", "\n".join(f"- {'✅' if ok else '❌'} {text}"
                                           for ok, text in validation_results(a, rendered)),
        "## Conclusion", conclusion(a, comparisons=comparisons)]
    return "\n\n".join(sections) + "\n"
