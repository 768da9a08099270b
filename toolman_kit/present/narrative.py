"""The report's prose and lists, generated from the findings: every sentence states a fact of the
analysis, so the text changes with the input.

Everything returned is Markdown. Manifest-derived text (names, images, messages that quote them)
goes through formats._md or markdown_table; only our own words are written as markup.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from toolman_kit.analysis import Analysis
from toolman_kit.chart.render import Rendered
from toolman_kit.judge.checklist import SYMBOL
from toolman_kit.judge.findings import SEVERITY_ORDER
from toolman_kit.judge.pss import pod_security
from toolman_kit.judge.registry import catalogue
from toolman_kit.present import views
from toolman_kit.present.formats import _md, checklist_markdown, markdown_table

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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _title(check_id: str) -> str:
    c = catalogue().get(check_id)
    return c.title if c else check_id


def _groups(a: Analysis, status: str = "fail") -> list[tuple[str, str, pd.DataFrame]]:
    """Findings of one status grouped by check, most important first: (check id, severity, rows)."""
    rows = a.findings[a.findings["status"] == status]
    groups = [(str(cid), str(part["severity"].iloc[0]), part)
              for cid, part in rows.groupby("check_id", sort=False)]
    return sorted(groups, key=lambda g: (
        SEVERITY_ORDER.get(g[1], 3), IMPORTANCE.index(g[0]) if g[0] in IMPORTANCE
        else len(IMPORTANCE), -len(g[2]), g[0]))


def _targets(rows: pd.DataFrame) -> str:
    """The objects a group of findings is about, each with its containers."""
    objects: dict[str, list[str]] = {}
    for kind, name, container in zip(rows["kind"], rows["name"], rows["container"], strict=True):
        names = objects.setdefault(f"{kind}/{name}", [])
        if not pd.isna(container) and container not in names:
            names.append(container)
    return ", ".join(_md(obj) + (f" ({_md(', '.join(cs))})" if cs else "")
                     for obj, cs in objects.items())


def _inputs(a: Analysis) -> str:
    # load() takes a string holding a newline as literal YAML and records it as its input
    return ", ".join("text" if "\n" in i else _md(Path(i).name)
                     for i in a.manifests.inputs) or "no input"


def _label(a: Analysis) -> str:
    return _md(a.values_set) if a.values_set else _inputs(a)


def _workloads(a: Analysis) -> str:
    return ", ".join(_md(f"{w.kind}/{w.name}") for w in a.index.workloads) or "no workload"


def _verdict(a: Analysis) -> str:
    c = views.counts(a)
    f = c["findings"]
    rows = f"{c['fail']} checklist rows ❌ and {c['warning']} ⚠️ (of {sum(c[s] for s in SYMBOL)})"
    errors = f"; {_plural(len(a.errors), 'input or check error')}" if a.errors else ""
    if not a.index.workloads:
        return "**Nothing to assess**: the manifests hold no workload (no pod template)" \
            + errors + "."
    if f["error"] == 0 and not a.errors:
        return (f"**Production-ready** against this profile: no blocking finding; "
                f"{_plural(f['warning'], 'warning')} and {f['info']} info remain, {rows}.")
    return (f"**Not production-ready**: {rows}; {_plural(f['error'], 'blocking finding')}, "
            f"{_plural(f['warning'], 'warning')} and {f['info']} info{errors}.")


def _rows_text(df: pd.DataFrame) -> str:
    several = df["workload"].nunique() > 1
    return ", ".join(_md(f"{c} ({w})" if several else c)
                     for w, c in zip(df["workload"], df["component"], strict=True))


def _comparison(baseline: Analysis, a: Analysis) -> str:
    rows = views.compare_checklists(baseline, a)
    clauses = []
    for change, clause in (("fixed", "fixes {}"), ("improved", "improves {}"),
                           ("still failing", "leaves {} failing"), ("worse", "makes {} worse")):
        part = rows[rows["change"] == change]
        if len(part):
            clauses.append(clause.format(f"{_plural(len(part), 'checklist row')} "
                                         f"({_rows_text(part)})"))
    changes = views.compare_findings(baseline, a)
    n = changes["change"].value_counts()
    new = changes[changes["change"] == "introduced"]["check_id"]
    text = (f"Compared with the baseline ({_label(baseline)}), the candidate ({_label(a)}) "
            + (_and(clauses) if clauses else "changes no checklist row") + ". "
            f"Finding by finding: {n.get('fixed', 0)} failures fixed, "
            f"{n.get('introduced', 0)} introduced, {n.get('unchanged', 0)} unchanged.")
    if len(new):
        text += " New failures: " + "; ".join(_title(c) for c in dict.fromkeys(new)) + "."
    return text


def executive_summary(a: Analysis, baseline: Analysis | None = None) -> str:
    """What was analyzed, the verdict, the most important facts and, with a baseline, what the
    candidate fixes, leaves and makes worse."""
    kinds = Counter(r.kind for r in a.manifests)
    roles = Counter(c.role for w in a.index.workloads for c in w.containers)
    role_text = ", ".join(f"{roles[r]} {r}" for r in ROLE_TITLE if roles[r])
    parts = [
        f"Analyzed {_plural(len(a.manifests), 'object')} "
        f"({', '.join(f'{n} {_md(k)}' for k, n in kinds.items()) or 'none'}) from {_inputs(a)}"
        + (f" ({_md(a.values_set)})" if a.values_set else "") + ": "
        f"{_plural(len(a.index.workloads), 'workload')} ({_workloads(a)}) with "
        f"{_plural(sum(roles.values()), 'container')}" + (f" ({role_text})" if role_text else "")
        + f", against the **{_md(a.profile.name)}** profile.",
        _verdict(a)]
    facts = _groups(a)[:4]
    if facts:
        parts.append("The most important findings:\n\n" + "\n".join(
            f"- **{_title(cid)}** — {_targets(rows)}: {_md(rows['message'].iloc[0])}"
            + (f" (+{len(rows) - 1} more)" if len(rows) > 1 else "") for cid, _, rows in facts))
    if baseline is not None:
        parts.append(_comparison(baseline, a))
    return "\n\n".join(parts)


def identified_issues(a: Analysis) -> list[str]:
    """One item per failing check with the objects it hits, most severe first; input errors lead,
    accepted (exempt) risks close the list."""
    items = [f"**Input error** — {_md(str(e))}" for e in a.errors]
    for cid, severity, rows in _groups(a):
        messages = list(dict.fromkeys(rows["message"]))
        shown = "; ".join(_md(m) for m in messages[:3])
        more = f"; and {len(messages) - 3} more" if len(messages) > 3 else ""
        items.append(f"**{_title(cid)}** ({severity}) — {_targets(rows)}: {shown}{more}.")
    for cid, _, rows in _groups(a, "exempt"):
        reasons = "; ".join(_md(r) for r in dict.fromkeys(rows["exempt_reason"]))
        items.append(f"**{_title(cid)}** (accepted risk) — {_targets(rows)}: {reasons}.")
    return items


def recommendations(a: Analysis) -> dict[str, list[str]]:
    """Imperative remediations with where they apply, each led by its check's title (a
    remediation may be as short as "Increase to 3"): "immediate" for blockers (errors), "future"
    for warnings and info."""
    result: dict[str, list[str]] = {"immediate": [], "future": []}
    for cid, severity, rows in _groups(a):
        for remediation, part in rows.groupby("remediation", sort=False):
            result["immediate" if severity == "error" else "future"].append(
                f"**{_title(cid)}.** {_md(str(remediation).rstrip('.'))} — {_targets(part)}.")
    return result


def validation_results(a: Analysis, rendered: Rendered | None = None) -> list[tuple[bool, str]]:
    """(passed, text) lines: helm lint and rendering (with a Rendered), loading, security context
    (Pod Security level), resource quantities, field types and volume mounts."""
    results = []
    if rendered is not None:
        severities = Counter(m.severity for m in rendered.lint)
        detail = ", ".join(_plural(severities[s], f"{s} message")
                           for s in ("error", "warning", "info") if severities[s])
        about = "; ".join(dict.fromkeys(_md(m.message) for m in rendered.lint))
        results.append((not severities["error"],
                        f"Helm lint: {'Failed' if severities['error'] else 'Passed'} "
                        + (f"({detail}: {about})" if detail else "(no messages)")))
        results.append((True, f"Template rendering: Successful ({_md(rendered.backend)}, "
                              f"{_plural(len(rendered.values_files), 'values file')})"))
    errors = "; ".join(_md(str(e)) for e in a.errors[:3]) + ("; …" if len(a.errors) > 3 else "")
    results.append((not a.errors, f"Manifests loaded: {_plural(len(a.manifests), 'object')} from "
                                  f"{_plural(len(a.manifests.inputs), 'input')}"
                    + (f"; {_plural(len(a.errors), 'error')}: {errors}" if a.errors else "")))
    levels = pod_security(a.index)
    text = "; ".join(
        f"{_md(f'{p.kind}/{p.name}')} {p.level}"
        + (f" (violates {_md(', '.join(sorted({v['control'] for v in p.violations})))})"
           if p.violations else "") for p in levels) or "no pods"
    results.append((all(p.level != "privileged" for p in levels),
                    f"Security context: Pod Security Standards level — {text}"))
    invalid = [(w, path, problem) for w in a.index.workloads for path, problem in w.invalid]
    quantities = [x for x in invalid if ".resources." in x[1]]
    fields = [x for x in invalid if ".resources." not in x[1]]
    for ok_text, bad_text, found in (
            ("Resource definitions: Valid (every quantity parses)", "Resource definitions",
             quantities),
            ("Pod specs: Well-formed (every field has its type)", "Pod specs", fields)):
        results.append((not found, ok_text if not found else f"{bad_text}: " + "; ".join(
            _md(f"{w.kind}/{w.name} {path}: {problem}") for w, path, problem in found)))
    broken = a.findings[a.findings["check_id"].isin(VOLUME_CHECKS)
                        & (a.findings["status"] == "fail")]
    mounts = sum(len(c.mounts) for w in a.index.workloads for c in w.containers)
    volumes = sum(len(w.volumes) for w in a.index.workloads)
    results.append((broken.empty, f"Volume mounts: Correctly mapped ({_plural(mounts, 'mount')} "
                                  f"onto {_plural(volumes, 'volume')})" if broken.empty else
                    "Volume mounts: " + "; ".join(_md(m) for m in broken["message"])))
    return results


def conclusion(a: Analysis, baseline: Analysis | None = None) -> str:
    """The verdict in a paragraph: what blocks production, what the candidate values changed, and
    the privileged containers that shape the pod's security."""
    groups = _groups(a)
    errors = [g for g in groups if g[1] == "error"]
    warnings = [g for g in groups if g[1] != "error"]
    who = _workloads(a)
    if not a.index.workloads:
        return "Without a workload there is no production readiness to judge; " \
            f"{_plural(len(a.errors), 'input error')} reported."
    if not errors and not a.errors:
        text = (f"{who} meets every blocking check of the **{_md(a.profile.name)}** profile"
                + (f"; {_plural(sum(len(g[2]) for g in warnings), 'finding')} in "
                   f"{_plural(len(warnings), 'check')} remain worth fixing, chiefly "
                   f"{_and([_title(g[0]) for g in warnings[:2]])}" if warnings else "") + ".")
    else:
        led = "; ".join(_title(g[0]) for g in errors[:3])
        text = (f"{who} is not production-ready against the **{_md(a.profile.name)}** profile: "
                f"{_plural(sum(len(g[2]) for g in errors), 'blocking finding')} in "
                f"{_plural(len(errors), 'check')} remain" + (f", led by: {led}" if led else "")
                + (f"; {_plural(len(a.errors), 'input error')} must be resolved first"
                   if a.errors else "") + ".")
    if baseline is not None:
        changes = views.compare_findings(baseline, a)
        blocking = changes[changes["severity"] == "error"]
        n = blocking["change"].value_counts()
        before = int(n.get("fixed", 0) + n.get("unchanged", 0))
        text += (f" The candidate values fix {n.get('fixed', 0)} of the baseline's {before} "
                 f"blocking failures and introduce {n.get('introduced', 0)}.")
    for r in views.runtime_sockets(a).itertuples(index=False):
        serves = f" and serves a container runtime socket through {_md(r.socket_volumes)} to " \
                 f"{_md(r.shared_with)}" if r.shared_with else ""
        text += (f" {_md(r.container)} ({_md(r.image)}) in {_md(r.workload)} runs privileged "
                 f"({r.reach}){serves}: its pod can only meet the privileged Pod Security level.")
    return text


def _numbered(items: list[str], none: str) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1)) if items else none


def _table(a: Analysis, df: pd.DataFrame, columns: dict[str, str]) -> str:
    if len(a.index.workloads) > 1:
        columns = {"workload": "Workload", **columns}  # only needed when there is a choice
    return markdown_table(df, columns)


def _containers_section(a: Analysis) -> str:
    df = views.containers(a)
    df = df.sort_values("role", key=lambda r: r.map(list(ROLE_TITLE).index), kind="stable")
    blocks = []  # main, sidecars, then init containers: the seed's order
    for workload, rows in df.groupby("workload", sort=False):
        lines = [f"**{_md(workload)}**", ""] if len(a.index.workloads) > 1 else []
        for i, r in enumerate(rows.itertuples(index=False), 1):
            security = [f"{what} {value}" for what, value in (("UID", r.run_as_user),
                                                              ("GID", r.run_as_group))
                        if pd.notna(value)]
            security += [text for flag, text in (
                (r.run_as_non_root is True, "runAsNonRoot"), (r.privileged, "**privileged**"),
                (r.read_only_root, "read-only root filesystem"),
                (not r.read_only_root, "writable root filesystem"),
                (not r.allow_privilege_escalation, "no privilege escalation")) if flag]
            security += [f"{verb} capabilities {_md(caps)}" for verb, caps in (
                ("drops", r.capabilities_drop), ("adds", r.capabilities_add)) if caps]
            security += [f"seccomp {_md(r.seccomp)}"] if r.seccomp else []
            lines += [f"{i}. **{ROLE_TITLE.get(r.role, r.role)} ({_md(r.container)})**",
                      f"   - Image: {_md(r.image) or 'none'} "
                      f"({'pinned' if r.pinned else 'not pinned'}, pull {_md(r.pull_policy)})",
                      f"   - Security: {', '.join(security)}",
                      f"   - Resources: requests {r.cpu_request}/{r.memory_request}, "
                      f"limits {r.cpu_limit}/{r.memory_limit}"]
            lines += [f"   - {label}: {_md(value)}" for label, value in (
                ("Ports", r.ports), ("Mounts", r.mounts), ("Env from", r.env_from)) if value]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or "No workloads."


def _security_section(a: Analysis) -> str:
    posture = views.security_posture(a)
    parts = ["✅ **Strengths:**\n\n" + ("\n".join(f"- {_md(s)}" for s in posture["strengths"])
                                       or "- none found"),
             "⚠️ **Considerations:**\n\n" + ("\n".join(f"- {_md(s)}"
                                                     for s in posture["considerations"])
                                           or "- none: every security and network check passes")]
    sockets = views.runtime_sockets(a)
    if len(sockets):
        parts.append("Privileged containers and the sockets they serve:\n\n" + _table(
            a, sockets, {"container": "Container", "image": "Image", "reach": "Reaches on the node",
                         "socket_volumes": "Socket volumes", "shared_with": "Shared with"}))
    return "\n\n".join(parts)


def _availability_section(a: Analysis) -> str:
    blocks = []
    for r in views.availability(a).itertuples(index=False):
        evictions = "no PDB" if pd.isna(r.pdb_allows_evictions) else \
            f"{r.pdb_allows_evictions}" + (" (blocks node drains)"
                                           if r.pdb_allows_evictions == 0 else "")
        lines = [f"**{_md(r.workload)}**", ""] if len(a.index.workloads) > 1 else []
        lines += [f"- {label}: {_md(value)}" for label, value in (
            ("Replicas", "n/a" if pd.isna(r.replicas) else r.replicas),
            ("Autoscaling", r.hpa or "none"), ("Pod anti-affinity", r.anti_affinity),
            ("Topology spread", r.topology_spread), ("PodDisruptionBudget", r.pdb),
            ("Pods a drain may evict at once", evictions),
            ("Update strategy", r.update_strategy), ("Priority class", r.priority_class or "none"),
            ("Storage vs replicas", r.storage_vs_replicas))]
        blocks.append("\n".join(lines))
    probes = views.probes(a)
    if len(probes):
        blocks.append("Health probes (Kubernetes defaults marked):\n\n" + _table(a, probes, {
            "container": "Container", "probe": "Probe", "handler": "Handler",
            "initial_delay": "Initial delay", "period": "Period", "timeout": "Timeout",
            "failure_threshold": "Failure threshold", "success_threshold": "Success threshold"}))
    return "\n\n".join(blocks) or "No workloads."


def _security_findings(a: Analysis) -> str:
    levels = pd.DataFrame([(f"{p.kind}/{p.name}", p.level,
                            ", ".join(sorted({v["control"] for v in p.violations})) or "—")
                           for p in pod_security(a.index)],
                          columns=["workload", "level", "controls"])
    f = a.findings
    failed = f[f["area"].isin(views.CONSIDERED_AREAS) & (f["status"] == "fail")]
    return "\n\n".join([
        "### Pod Security Standards",
        markdown_table(levels, {"workload": "Workload", "level": "Level",
                                "controls": "Violated controls"}) if len(levels) else "No pods.",
        "### Failing security and network checks",
        markdown_table(failed, {"severity": "Severity", "check_id": "Check", "kind": "Kind",
                                "name": "Name", "container": "Container", "message": "Finding",
                                "remediation": "Action"})
        if len(failed) else "No security or network check fails."])


def _override_section(baseline: Analysis, a: Analysis) -> str:
    rows = views.compare_checklists(baseline, a)
    rows = rows.assign(before=rows["baseline_status"].map(SYMBOL).fillna(""),
                       after=rows["candidate_status"].map(SYMBOL).fillna(""))
    return _comparison(baseline, a) + "\n\n" + _table(a, rows, {
        "component": "Component", "baseline_state": "Baseline", "before": "Baseline ready",
        "candidate_state": "Candidate", "after": "Candidate ready", "change": "Change"})


def markdown_report(a: Analysis, baseline: Analysis | None = None,
                    rendered: Rendered | None = None, title: str | None = None) -> str:
    """The whole report in the seed's section structure (a baseline adds the comparison)."""
    names = list(dict.fromkeys(w.name for w in a.index.workloads))
    heading = _md(title) if title else f"{_md(', '.join(names))} Deployment Analysis Report".strip()
    recs = recommendations(a)
    volumes = views.volumes(a)
    sections = [
        f"# {heading}",
        "## Executive Summary", executive_summary(a, baseline),
        "## Current Deployment Configuration",
        "### Container Architecture", _containers_section(a),
        "### Security Assessment", _security_section(a),
        "### Resource Management", _table(a, views.resources(a), {
            "container": "Container", "kind": "Kind", "resource": "Resource",
            "current": "Current", "profile": "Profile", "status": "Status"}),
        "### High Availability Features", _availability_section(a),
        "### Volume Configuration", _table(a, volumes, {
            "volume": "Volume", "type": "Type", "source": "Source", "mounted_by": "Mounted by",
            "findings": "Failing checks"}) if len(volumes) else "No volumes.",
        "## Production Readiness Checklist",
        checklist_markdown(a.checklist) or "No workloads.",
        "## Security Findings", _security_findings(a)]
    if baseline is not None:
        sections += ["## Production Values Override", _override_section(baseline, a)]
    sections += [
        "## Identified Issues", _numbered(identified_issues(a), "No failing checks."),
        "## Recommendations",
        "### Immediate Actions", _numbered(recs["immediate"], "No blockers."),
        "### Future Improvements", _numbered(recs["future"], "Nothing further."),
        "## Validation Results", "\n".join(f"- {'✅' if ok else '❌'} {text}"
                                           for ok, text in validation_results(a, rendered)),
        "## Conclusion", conclusion(a, baseline)]
    return "\n\n".join(sections) + "\n"
