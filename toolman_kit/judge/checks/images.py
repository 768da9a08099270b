"""Images: every container runs a pinned image, pulled only when needed."""

from __future__ import annotations

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.model import Container, Workload


@check(id="image-tag-mutable", area=Area.IMAGES, severity=Severity.ERROR, scope=Scope.CONTAINER,
       title="Image tag is mutable (missing, latest, or a name without a version)",
       remediation="Use a specific version tag (or a digest).",
       differs="Polaris (tagNotSpecified), kube-score (container-image-tag), checkov "
               "(CKV_K8S_14) and kube-linter (latest-tag) flag only a missing or `latest` tag. "
               "We also flag tags "
               "without a version number (`docker:dind`, `nginx:stable`), as the seed's "
               "\"Image Tag ❌\" does, and warn about major-only tags (`nginx:1`).")
def image_tag_mutable(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """`latest`, no tag (which means latest) and a tag without a version number (`dind`,
    `stable`, `lts`, `edge`, `main`) name a different image tomorrow: replicas drift apart,
    rollbacks do not roll back, and nobody can say what runs. A major-only tag (`nginx:1`) moves
    with every minor release: a warning. `1.27.3`, `v2.1`, a commit tag and a digest pin; the
    profile can add tags to the mutable ones (`mutable_tags`) or require digests
    (`require_digest: true`)."""
    image = c.image
    if image is None:
        yield Violation(f"{c.name} names no image", path=f"{c.path}.image")
        return
    pinning = image.pinning(profile.mutable_tags)
    problem = _TAG_PROBLEM.get(pinning)
    if problem:
        yield Violation(f"{c.name} runs {image.ref}: " + problem.format(tag=image.tag),
                        path=f"{c.path}.image",
                        severity=Severity.WARNING if pinning == "major" else None)
    elif profile.require_digest and pinning != "digest":
        yield Violation(f"{c.name} runs {image.ref}: the profile requires a digest "
                        "(a version tag can be pushed again)", path=f"{c.path}.image",
                        remediation="Pin the image by digest (image@sha256:…).")


_TAG_PROBLEM = {
    "missing": "no tag means latest, whatever was pushed last",
    "listed": "tag {tag} is mutable",
    "floating": "tag {tag} names no version: it follows whatever the publisher pushes next",
    "major": "tag {tag} names only a major version: it moves with every minor release",
}


@check(id="pull-policy-always", area=Area.IMAGES, severity=Severity.WARNING,
       scope=Scope.CONTAINER, title="imagePullPolicy is Always",
       remediation="Change to IfNotPresent (after pinning the tag).",
       differs="Polaris (pullPolicyNotAlways) and kube-score (container-image-pull-policy) ask "
               "for Always; we keep IfNotPresent for pinned tags, as the seed recommends: "
               "Always only adds a registry round-trip to every start.")
def pull_policy_always(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """With a pinned image, Always only adds a registry round-trip to every start and makes a
    registry outage block restarts; with a mutable tag it hides the real problem (pin first)."""
    if c.pull_policy == "Always":
        pinned = c.image is not None and c.image.pinned(profile.mutable_tags)
        why = "pulls on every start" if pinned else "pulls a moving tag on every start"
        yield Violation(f"{c.name} has imagePullPolicy Always: {why}",
                        path=f"{c.path}.imagePullPolicy")
