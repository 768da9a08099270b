"""The pod a workload's controller will create, as admission sees its CREATE: apiVersion v1,
kind Pod, the template's labels and annotations, the workload's namespace, a generated name and
the ownerReferences of the object that creates it (a Deployment's pods are its ReplicaSet's, a
CronJob's its Job's), and the template's spec."""

from __future__ import annotations

from typing import Any

from toolman_kit.read.model import Workload, as_dict, dig

# Who creates the pods of a kind when it is not the workload itself: (apiVersion, kind).
CREATED_BY = {"Deployment": ("apps/v1", "ReplicaSet"), "CronJob": ("batch/v1", "Job")}


def controller_pod(w: Workload) -> dict[str, Any] | None:
    """The pod, or None for a Pod (admission sees the object itself)."""
    if not w.spec_kind.template:
        return None
    template = as_dict(dig(w.resource.obj, w.spec_kind.template))
    api_version, kind = CREATED_BY.get(w.kind, (w.resource.api_version, w.kind)) \
        if not w.spec_kind.custom else (w.resource.api_version, w.kind)
    owner = w.name if (api_version, kind) == (w.resource.api_version, w.kind) else f"{w.name}-"
    metadata: dict[str, Any] = {
        "generateName": f"{w.name}-", "namespace": w.namespace,
        "labels": dict(w.pod_labels), "annotations": dict(w.pod_annotations),
        "ownerReferences": [{"apiVersion": api_version, "kind": kind, "name": owner,
                             "controller": True, "blockOwnerDeletion": True}]}
    # The API server generates the name before validating admission sees the pod.
    metadata["name"] = f"{w.name}-0" if w.kind == "StatefulSet" else f"{w.name}-00000"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": as_dict(template.get("spec"))}
