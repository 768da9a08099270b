"""Storage classes known not to provide ReadWriteMany, so `suggest` never proposes one on them.

Block storage attaches a volume to one node at a time; these provisioners refuse (or silently
never bind) a ReadWriteMany claim. Sources: the Kubernetes documentation's access-mode table
(https://kubernetes.io/docs/concepts/storage/persistent-volumes/#access-modes), the CSI drivers'
own READMEs (aws-ebs-csi-driver, gcp-compute-persistent-disk-csi-driver: ReadWriteOnce and
ReadOnlyMany; azuredisk-csi-driver), and rancher/local-path-provisioner (ReadWriteOnce, a host
path on one node). The class names are those the clouds and distributions install by default;
a StorageClass object in the manifests is judged by its provisioner, not its name.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Resource
from toolman_kit.read.model import Workload

PROVISIONERS = {  # provisioner → what it is
    "rancher.io/local-path": "local-path",
    "kubernetes.io/aws-ebs": "AWS EBS", "ebs.csi.aws.com": "AWS EBS",
    "kubernetes.io/gce-pd": "GCE PD", "pd.csi.storage.gke.io": "GCE PD",
    "kubernetes.io/azure-disk": "Azure Disk", "disk.csi.azure.com": "Azure Disk",
}
CLASSES = {  # the default class names of those provisioners' installations
    "local-path": "local-path",
    "gp2": "AWS EBS", "gp3": "AWS EBS", "io1": "AWS EBS", "io2": "AWS EBS",
    "standard": "GCE PD", "standard-rwo": "GCE PD", "premium-rwo": "GCE PD",
    "managed": "Azure Disk", "managed-premium": "Azure Disk", "managed-csi": "Azure Disk",
    "default": "Azure Disk",
}
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


@dataclass(frozen=True)
class Claim:
    """A claim a workload mounts and the storage class it gets ("" when unknown)."""

    name: str
    storage_class: str
    provisioner: str = ""  # of the StorageClass object in the manifests, if there is one


def claims(w: Workload, idx: Index, resources: list[Resource]) -> list[Claim]:
    """The claims in the manifests that the workload's volumes mount, each with its class:
    `storageClassName`, else the manifests' default StorageClass, else unknown (the cluster's
    default, which the manifests cannot show)."""
    classes = {r.name: r for r in resources if r.kind == "StorageClass"}
    default = next((name for name, r in sorted(classes.items())
                    if str(r.annotations.get(DEFAULT_CLASS)) == "true"), "")
    out = []
    for v in w.volumes:
        name = str(v.source.get("claimName") or "") if v.type == "persistentVolumeClaim" else ""
        pvc = idx.pvcs.get((w.namespace, name)) if name else None
        if pvc is None:
            continue
        cls = pvc.spec.get("storageClassName")
        if cls is None:
            cls = pvc.annotations.get("volume.beta.kubernetes.io/storage-class") or default
        cls = str(cls)
        sc = classes.get(cls)
        out.append(Claim(name, cls, str(sc.obj.get("provisioner") or "") if sc else ""))
    return out


def single_node(claim: Claim, extra: tuple[str, ...] = ()) -> str | None:
    """Why the claim's class cannot provide ReadWriteMany ("gp3: AWS EBS"), None when it may
    (or the class is unknown). `extra`: the profile's `rwo_storage_classes` (names or
    provisioners). A StorageClass in the manifests is judged by its provisioner."""
    if not claim.storage_class:
        return None
    cls, provisioner = claim.storage_class, claim.provisioner
    if cls in extra or (provisioner and provisioner in extra):
        return f"{cls}, listed in the profile's rwo_storage_classes"
    if provisioner:
        what = PROVISIONERS.get(provisioner)
        return f"{cls}, provisioner {provisioner}: {what}" if what else None
    what = CLASSES.get(cls)
    return None if what is None else cls if what == cls else f"{cls}: {what}"
