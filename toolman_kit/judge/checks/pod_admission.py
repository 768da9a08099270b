"""Pod Security admission: whether the namespace's `pod-security.kubernetes.io` labels admit the
pods a workload's controller will create. The Deployment itself is admitted (enforce judges pods
only), so a rejection shows up nowhere in `helm upgrade`'s output: the rollout just hangs.
"""

from __future__ import annotations

import re

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.pss import LEVELS, PodSecurity, assess
from toolman_kit.judge.registry import Area, Outcome, Severity, Skip, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.model import Workload
from toolman_kit.read.namespaces import namespace_object

LABEL = "pod-security.kubernetes.io/"
# Each mode and what falling short of its level costs: enforce rejects the pod, warn makes the
# API server return a warning (kubectl and helm print it), audit annotates the audit event.
MODES = (("enforce", Severity.ERROR), ("warn", Severity.WARNING), ("audit", Severity.INFO))
VERSION = re.compile(r"latest|v1\.(0|[1-9][0-9]*)")  # what Pod Security admission parses
RANK = {level: n for n, level in enumerate(LEVELS)}
JOBS = ("Job", "CronJob")


def _controls(pss: PodSecurity, level: str) -> str:
    """The controls of `level` (and below) the pod violates, as pss words them."""
    details: dict[str, list[str]] = {}
    for v in pss.violations:
        if RANK[v["level"]] <= RANK[level]:
            details.setdefault(v["control"], []).append(v["detail"])
    return "; ".join(f"{control} ({', '.join(found)})" for control, found in details.items())


def _message(w: Workload, mode: str, level: str, version: str, pss: PodSecurity) -> str:
    pin = f" {version}, evaluated with the latest controls" if version != "latest" else ""
    controls = _controls(pss, level)
    pod = w.kind == "Pod" and not w.spec_kind.custom  # a bare Pod: no controller
    if mode == "enforce":
        rule = f"Pod Security admission (namespace {w.namespace} enforces {level}{pin})"
        if pod:
            return f"rejected by {rule}: {controls}"
        tail = "its jobs never start a pod" if w.like in JOBS else "the rollout hangs"
        return f"admitted, but its pods will be rejected by {rule}: {controls} ({tail})"
    who = "it does" if pod else "its pods do"
    if mode == "warn":
        return (f"kubectl and helm print a warning: {who} not meet {level}, the Pod Security "
                f"level namespace {w.namespace} warns on{pin}: {controls}")
    return (f"the API server adds an audit annotation: {who} not meet {level}, the Pod Security "
            f"level namespace {w.namespace} audits{pin}: {controls}")


def namespace_modes(idx: Index, namespace: str, profile: Profile) -> list[tuple[str, str, str]]:
    """(mode, level, version) of the namespace's Pod Security labels the API server accepts, as
    the manifests' Namespace or --namespace-labels give them."""
    labels = namespace_object(idx, namespace, profile.namespace_labels)["metadata"]["labels"]
    return [(mode, labels[LABEL + mode], labels.get(f"{LABEL}{mode}-version", "latest"))
            for mode, _ in MODES if labels.get(LABEL + mode) in LEVELS
            and VERSION.fullmatch(labels.get(f"{LABEL}{mode}-version", "latest"))]


def describe(namespace: str, modes: list[tuple[str, str, str]]) -> str:
    """"namespace prod enforces baseline, warns on restricted" (versions other than latest
    said)."""
    verbs = {"enforce": "enforces", "warn": "warns on", "audit": "audits"}
    said = [f"{verbs[mode]} {level}" + (f" {version}" if version != "latest" else "")
            for mode, level, version in modes]
    return f"namespace {namespace} " + ", ".join(said)


@check(id="pod-security-admission", area=Area.SECURITY, severity=Severity.ERROR,
       title="The namespace's Pod Security admission rejects (or warns about) the pods",
       remediation="Make the pod meet the namespace's Pod Security level (the Pod Security "
                   "Level row lists the controls it violates), or run it in a namespace whose "
                   "pod-security.kubernetes.io labels admit it. Without those labels the "
                   "cluster's AdmissionConfiguration defaults apply, which the manifests do not "
                   "tell (privileged unless configured): give them with --namespace-labels.")
def pod_security_admission(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A namespace labelled `pod-security.kubernetes.io/enforce: <level>` rejects every pod below
    that level, but not the Deployment (or StatefulSet, Job …) that creates them: it is admitted
    and its controller then fails to create a single pod, which only its events tell. `warn`
    and `audit` labels make the API server return a warning or annotate the audit log instead.
    The labels are read from the Namespace in the manifests, else from --namespace-labels (or
    the profile's namespace_labels); the pod's level is the one the Pod Security Level row
    shows, judged with the latest controls whatever `<mode>-version` pins."""
    labels = namespace_object(idx, w.namespace, profile.namespace_labels)["metadata"]["labels"]
    modes = []
    for mode, severity in MODES:
        level, version = labels.get(LABEL + mode), labels.get(f"{LABEL}{mode}-version", "latest")
        if level is not None and level not in LEVELS:
            yield Skip(f"namespace {w.namespace}: {LABEL}{mode}: {level!r} is not a Pod Security "
                       f"level ({', '.join(LEVELS)}); the API server refuses the label")
            return
        if not VERSION.fullmatch(version):
            yield Skip(f"namespace {w.namespace}: {LABEL}{mode}-version: {version!r} is neither "
                       "latest nor v1.<minor>; the API server refuses the label")
            return
        if level is not None:  # else the cluster's default: not known, privileged unless set
            modes.append((mode, severity, level, version))
    if not modes:
        return
    pss, reported = assess(w), RANK[LEVELS[0]]
    for mode, severity, level, version in modes:
        # a milder mode at a level no stricter than one already failed would repeat it
        if RANK[pss.level] >= RANK[level] or RANK[level] <= reported:
            continue
        reported = RANK[level]
        yield Violation(_message(w, mode, level, version, pss), path=w.pod_path,
                        severity=severity)
