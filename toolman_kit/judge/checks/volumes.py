"""Volumes: every volume has a source, is defined, used, sized, and fits the replicas sharing it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Severity, Skip, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import RELEASE_NAMESPACE
from toolman_kit.read.model import Volume, Workload, as_dict, as_list

SINGLE_NODE_MODES = frozenset({"ReadWriteOnce", "ReadWriteOncePod"})
SHARED_BY_PODS = ("Deployment", "ReplicaSet", "ReplicationController", "StatefulSet",
                  "DaemonSet")
# What fixes a shared single-node claim, for the kinds where the general advice does not fit
# (a StatefulSet is one already, neither it nor a DaemonSet has a Recreate strategy).
SHARED_CLAIM_ADVICE = {
    "StatefulSet": "Move the claim into volumeClaimTemplates (a claim per pod), or use a "
                   "ReadWriteMany storage class.",
    "DaemonSet": "Use a ReadWriteMany storage class, or a node-local volume: a DaemonSet runs a "
                 "pod on every node.",
}


def _references(raw: dict[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """(volume name, path) of each volumeMount and volumeDevice of one raw container."""
    for key in ("volumeMounts", "volumeDevices"):
        for i, ref in enumerate(as_list(raw.get(key))):
            name = as_dict(ref).get("name")
            if isinstance(name, str):
                yield name, f"{path}.{key}[{i}]"


def _claims(w: Workload) -> Iterator[tuple[Volume, str]]:
    """(volume, claimName) of each persistentVolumeClaim volume that names its claim."""
    for v in w.volumes:
        claim = v.source.get("claimName")
        if v.type == "persistentVolumeClaim" and isinstance(claim, str) and claim:
            yield v, claim


@check(id="volume-without-source", area=Area.VOLUMES, severity=Severity.ERROR,
       title="Volume has no source",
       remediation="Give the volume its source (or remove it); check the if-blocks around it "
                   "in the template.")
def volume_without_source(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A volume with only a name (or an empty source such as `persistentVolumeClaim:` with nothing
    under it) is silently turned into an emptyDir: the pod starts, and the data meant for a claim,
    ConfigMap or Secret is not there. It is almost always a template bug, e.g. an `{{- if }}` around
    the source only."""
    for v in w.volumes:
        if v.type is None:
            yield Violation(f"volume {v.name} has no source: Kubernetes makes it an empty emptyDir",
                            path=v.path)
        elif v.raw.get(v.type) is None and v.type != "emptyDir":
            yield Violation(f"volume {v.name}: {v.type} is empty: Kubernetes makes the volume an "
                            "empty emptyDir", path=f"{v.path}.{v.type}")


@check(id="mount-undefined-volume", area=Area.VOLUMES, severity=Severity.ERROR,
       title="Container mounts a volume the pod does not define",
       remediation="Define the volume in the pod's volumes (or drop the mount).")
def mount_undefined_volume(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """The API server rejects a pod whose container mounts a volume it does not define, so the
    workload never starts (a StatefulSet's volumeClaimTemplates count as defined)."""
    defined = {v.name for v in w.volumes}
    if w.like == "StatefulSet":
        defined |= {str(as_dict(as_dict(t).get("metadata")).get("name"))
                    for t in as_list(w.resource.spec.get("volumeClaimTemplates"))}
    for c in w.containers:
        for name, path in _references(c.raw, c.path):
            if name not in defined:
                yield Violation(f"container {c.name} mounts volume {name}, which the pod does not "
                                "define", path=path, container=c.name)


@check(id="volume-unused", area=Area.VOLUMES, severity=Severity.INFO,
       title="Volume is mounted by no container",
       remediation="Remove the volume, or mount it where it was meant to be used.")
def volume_unused(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A volume no container mounts is dead weight at best (a claim is still attached, a Secret
    still fetched) and at worst a mount that a template condition dropped by mistake."""
    used = {name for c in w.containers for name, _ in _references(c.raw, c.path)}
    for i, raw in enumerate(as_list(w.pod.get("ephemeralContainers"))):
        used |= {name for name, _ in _references(as_dict(raw), f"ephemeralContainers[{i}]")}
    for v in w.volumes:
        if v.name not in used:
            yield Violation(f"volume {v.name} ({v.type or 'no source'}) is mounted by no container",
                            path=v.path)


@check(id="rwo-volume-shared-by-replicas", area=Area.VOLUMES, severity=Severity.ERROR,
       kinds=SHARED_BY_PODS, title="ReadWriteOnce claim shared by several pods",
       remediation="Use a StatefulSet with volumeClaimTemplates (a claim per pod), a ReadWriteMany "
                   "storage class, or run a single replica with the Recreate strategy.")
def rwo_volume_shared_by_replicas(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A ReadWriteOnce claim attaches to one node and a ReadWriteOncePod claim to one pod: when
    several pods of a workload (replicas, HPA scale-out, a DaemonSet's pod per node) share it, the
    extra pods are stuck in ContainerCreating on other nodes (RWO) or cannot start at all (RWOP).
    StatefulSet volumeClaimTemplates are per pod and are not affected."""
    if w.like == "DaemonSet":
        pods, why = 2, "a DaemonSet runs a pod on every node"
    else:
        pods = max(w.replicas or 0, idx.max_replicas(w) or 0)
        scaled = pods > (w.replicas or 0)
        why = f"{'an HPA scales it to' if scaled else 'it runs'} {pods} replicas"
    if pods <= 1:
        return
    for v, claim in _claims(w):
        pvc = idx.pvcs.get((w.namespace, claim))
        if pvc is None:
            yield Skip(f"PVC {claim} is not in the manifests: its access mode is unknown")
            continue
        modes = {str(m) for m in as_list(pvc.spec.get("accessModes"))}
        if modes and modes <= SINGLE_NODE_MODES:
            effect = "no second pod can use it" if modes == {"ReadWriteOncePod"} else \
                "pods on other nodes cannot attach it"
            yield Violation(f"volume {v.name} uses PVC {claim} ({', '.join(sorted(modes))}) but "
                            f"{why}: {effect}", path=f"{v.path}.persistentVolumeClaim.claimName",
                            remediation=SHARED_CLAIM_ADVICE.get(w.like))


@check(id="pvc-not-in-manifests", area=Area.VOLUMES, severity=Severity.WARNING,
       title="Volume uses a PersistentVolumeClaim the chart does not create",
       remediation="Create the claim before installing (and document it), or template the PVC "
                   "into the chart.")
def pvc_not_in_manifests(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A claim the chart does not render must exist before install, or the pods stay Pending
    with "persistentvolumeclaim not found"; it is an undocumented prerequisite of the release."""
    for v in w.volumes:
        if v.type != "persistentVolumeClaim":
            continue
        claim = v.source.get("claimName")
        if not isinstance(claim, str) or not claim:
            yield Violation(f"volume {v.name} names no claimName",
                            path=f"{v.path}.persistentVolumeClaim")
        elif (w.namespace, claim) not in idx.pvcs:
            where = "the release namespace" if w.namespace == RELEASE_NAMESPACE else \
                f"namespace {w.namespace}"
            yield Violation(f"volume {v.name} uses PVC {claim}, which is not in the manifests: it "
                            f"must exist in {where} before install",
                            path=f"{v.path}.persistentVolumeClaim.claimName")


@check(id="emptydir-without-size-limit", area=Area.VOLUMES, severity=Severity.WARNING,
       title="emptyDir without sizeLimit",
       remediation="Set emptyDir.sizeLimit to what the volume may reasonably hold.")
def emptydir_without_size_limit(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """An unbounded emptyDir can fill the node's disk, and a node under disk pressure evicts
    every pod on it; with sizeLimit only the offending pod is evicted. A `medium: Memory`
    emptyDir is tmpfs: what is written there counts against the container's memory limit."""
    for v in w.volumes:
        if v.type != "emptyDir" or v.source.get("sizeLimit") is not None:
            continue
        if v.source.get("medium") == "Memory":
            yield Violation(f"emptyDir {v.name} (medium: Memory) has no sizeLimit: its files use "
                            "RAM, count against the memory limit and can get the container "
                            "OOM-killed", path=f"{v.path}.emptyDir")
        else:
            yield Violation(f"emptyDir {v.name} has no sizeLimit: it can fill the node's disk",
                            path=f"{v.path}.emptyDir")
