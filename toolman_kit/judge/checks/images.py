"""Images: every container runs a pinned image, pulled only when needed."""

from __future__ import annotations

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.model import Container, Workload


@check(id="image-tag-mutable", area=Area.IMAGES, severity=Severity.ERROR, scope=Scope.CONTAINER,
       title="Image tag is mutable (missing or latest)",
       remediation="Use a specific version tag (or a digest).")
def image_tag_mutable(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """`latest` (or no tag, which means latest) names a different image tomorrow: replicas drift
    apart, rollbacks do not roll back, and nobody can say what runs. A digest always pins."""
    image = c.image
    if image is None:
        yield Violation(f"{c.name} names no image", path=f"{c.path}.image")
    elif not image.pinned(profile.mutable_tags):
        tag = f"tag {image.tag}" if image.tag else "no tag (latest)"
        yield Violation(f"{c.name} runs {image.ref}: {tag} is mutable", path=f"{c.path}.image")


@check(id="pull-policy-always", area=Area.IMAGES, severity=Severity.WARNING,
       scope=Scope.CONTAINER, title="imagePullPolicy is Always",
       remediation="Change to IfNotPresent (after pinning the tag).")
def pull_policy_always(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """With a pinned image, Always only adds a registry round-trip to every start and makes a
    registry outage block restarts; with a mutable tag it hides the real problem (pin first)."""
    if c.pull_policy == "Always":
        pinned = c.image is not None and c.image.pinned(profile.mutable_tags)
        why = "pulls on every start" if pinned else "pulls a moving tag on every start"
        yield Violation(f"{c.name} has imagePullPolicy Always: {why}",
                        path=f"{c.path}.imagePullPolicy")
