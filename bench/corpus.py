"""Synthetic corpora for the benchmark: N objects made from the Toolman example's renderings.

Each copy is what `helm template toolman-00001 examples/toolman/chart -n team-03` would print for
a chart that templates `namespace: {{ .Release.Namespace }}` into its objects (ours does not, so
the line is added here): the release name becomes the full name of every object (the chart's
helper uses the release name when it contains the chart name), and every cross-reference follows
it, so the index has real work to do and nothing matches across copies by accident:

- metadata.name of every object (`toolman` → `toolman-00001`, `toolman-data` → `toolman-00001-data`)
- the `app.kubernetes.io/instance` label wherever it occurs: object labels, pod template labels,
  Deployment, PDB, NetworkPolicy and ServiceMonitor selectors, Service selector, anti-affinity
- the pod's references: configMap name, secretRef name, persistentVolumeClaim claimName,
  secret secretName (`toolman-kubeconfig`, not in the manifests), serviceAccountName
- what stays: the chart name (`app.kubernetes.io/name: toolman`, the container name `toolman`,
  `helm.sh/chart`), images, the config checksum. The example has no HorizontalPodAutoscaler, so
  there are no scaleTargetRefs to rewrite.

Copies alternate at random (seeded) between the production rendering (9 objects: NetworkPolicy,
PDB, ServiceAccount, Secret, ConfigMap, PVC, Service, Deployment, ServiceMonitor) and the default
one (6 objects: no NetworkPolicy, PDB or ServiceMonitor), and are spread at random over
`--namespaces` namespaces. The last copy is cut short so the file holds exactly N objects.
The output is one multi-document YAML file in `helm template` format (`---` then
`# Source: toolman/templates/<file>`), written to bench/corpus/ (git-ignored) with a .json
beside it that records how it was made. Same arguments, same bytes.

    python bench/corpus.py --sizes 1000,10000 [--seed 20240601] [--namespaces 10] [--verify]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RENDERED = ROOT / "examples" / "toolman" / "rendered"
VARIANTS = {"production": RENDERED / "production.yaml", "default": RENDERED / "default.yaml"}
CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
DEFAULT_SEED = 20240601
DEFAULT_NAMESPACES = 10
PRODUCTION_SHARE = 2 / 3  # share of copies rendered with the production values
FORMAT_VERSION = 1  # bump when the generator changes what it writes

CHART = "toolman"
REL, NS = "__REL__", "__NS__"  # placeholders in the per-document templates

# (pattern, replacement) applied to each document of the example to make its template. Lines
# starting with "- name:" are container names (the chart name) and are deliberately not matched.
_REWRITES = [
    (re.compile(r"^(\s+name: )toolman(-data)?[ \t]*$", re.M), rf"\g<1>{REL}\g<2>"),
    (re.compile(r"^(\s+(?:- )?app\.kubernetes\.io/instance: )toolman[ \t]*$", re.M),
     rf"\g<1>{REL}"),
    (re.compile(r"^(\s+claimName: )toolman-data[ \t]*$", re.M), rf"\g<1>{REL}-data"),
    (re.compile(r"^(\s+secretName: )toolman-kubeconfig[ \t]*$", re.M), rf"\g<1>{REL}-kubeconfig"),
    (re.compile(r"^(\s+serviceAccountName: )toolman[ \t]*$", re.M), rf"\g<1>{REL}"),
]
_METADATA_NAME = re.compile(r"^(metadata:\n  name: [^\n]*\n)", re.M)
_DOC_SPLIT = re.compile(r"^---[ \t]*\n", re.M)
_SOURCE = re.compile(r"^# Source: (\S+)", re.M)
_KIND = re.compile(r"^kind: (\S+)", re.M)


@dataclass(frozen=True)
class Document:
    kind: str
    template: str  # the `# Source:` path
    text: str  # the document with REL and NS placeholders, starting with "# Source:"


def templates() -> dict[str, list[Document]]:
    """The example's documents per variant, with the release name and namespace made variables."""
    result = {}
    for variant, path in VARIANTS.items():
        docs = []
        for chunk in _DOC_SPLIT.split(path.read_text(encoding="utf-8")):
            if not chunk.strip():
                continue
            text = chunk.rstrip("\n") + "\n"
            for pattern, replacement in _REWRITES:
                text = pattern.sub(replacement, text)
            text, count = _METADATA_NAME.subn(rf"\g<1>  namespace: {NS}\n", text, count=1)
            if count != 1:
                raise ValueError(f"{path}: a document without metadata.name at the top level")
            source, kind = _SOURCE.search(text), _KIND.search(text)
            if source is None or kind is None:
                raise ValueError(f"{path}: a document without '# Source:' or kind")
            docs.append(Document(kind.group(1), source.group(1), text))
        result[variant] = docs
    return result


def generate(n: int, seed: int = DEFAULT_SEED,
             namespaces: int = DEFAULT_NAMESPACES) -> tuple[str, dict]:
    """(the corpus text, facts about it) for exactly `n` objects."""
    if n < 1 or namespaces < 1:
        raise ValueError("need at least one object and one namespace")
    rng = random.Random(seed)
    docs = templates()
    parts: list[str] = []
    kinds: Counter[str] = Counter()
    variants: Counter[str] = Counter()
    per_namespace: Counter[str] = Counter()
    copies = 0
    while len(parts) < n:
        copies += 1
        variant = "production" if rng.random() < PRODUCTION_SHARE else "default"
        namespace = f"team-{rng.randrange(namespaces):02d}"
        release = f"{CHART}-{copies:05d}"
        variants[variant] += 1
        for doc in docs[variant][: n - len(parts)]:
            parts.append("---\n" + doc.text.replace(REL, release).replace(NS, namespace))
            kinds[doc.kind] += 1
            per_namespace[namespace] += 1
    text = "\n".join(parts)
    facts = {
        "objects": n, "seed": seed, "namespaces": namespaces, "format": FORMAT_VERSION,
        "copies": copies, "variants": dict(sorted(variants.items())),
        "kinds": dict(sorted(kinds.items())), "per_namespace": dict(sorted(per_namespace.items())),
        "bytes": len(text.encode("utf-8")), "lines": text.count("\n") + 1,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "sources": {v: hashlib.sha256(p.read_bytes()).hexdigest() for v, p in VARIANTS.items()},
    }
    return text, facts


def path_for(n: int, directory: Path = CORPUS_DIR) -> Path:
    return directory / f"toolman-{n}.yaml"


def ensure(n: int, seed: int = DEFAULT_SEED, namespaces: int = DEFAULT_NAMESPACES,
           directory: Path = CORPUS_DIR) -> tuple[Path, dict]:
    """The corpus file for `n` objects, (re)written unless an identical one is already there."""
    path = path_for(n, directory)
    meta_path = path.with_suffix(".json")
    sources = {v: hashlib.sha256(p.read_bytes()).hexdigest() for v, p in VARIANTS.items()}
    if path.exists() and meta_path.exists():
        facts = json.loads(meta_path.read_text())
        if (facts.get("seed"), facts.get("namespaces"), facts.get("format"),
                facts.get("sources")) == (seed, namespaces, FORMAT_VERSION, sources) and \
                hashlib.sha256(path.read_bytes()).hexdigest() == facts.get("sha256"):
            return path, facts
    text, facts = generate(n, seed, namespaces)
    directory.mkdir(parents=True, exist_ok=True)
    for target, content in ((path, text), (meta_path, json.dumps(facts, indent=2) + "\n")):
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(target)
    return path, facts


def verify(path: Path, facts: dict) -> list[str]:
    """Problems with a corpus: wrong count, duplicate names, references left pointing at the
    example's names, or a complete copy whose Deployment the index does not link up."""
    import yaml

    sys.path.insert(0, str(ROOT))
    from toolman_kit import load
    from toolman_kit.read.index import Index

    problems = []
    text = path.read_text(encoding="utf-8")
    objects = [o for o in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
               if o is not None]
    if len(objects) != facts["objects"]:
        problems.append(f"{len(objects)} objects, expected {facts['objects']}")
    keys = Counter((o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects)
    problems += [f"duplicate {k}" for k, c in keys.items() if c > 1]
    for o in objects:
        for where, value in _strings(o, ""):
            if value in ("toolman", "toolman-data", "toolman-kubeconfig") and not (
                    where.endswith("app.kubernetes.io/name")
                    or re.search(r"[cC]ontainers\[\d+\]\.name$", where)):
                problems.append(f"{o['kind']}/{o['metadata']['name']}: {where} = {value!r} "
                                "still names the example")
    manifests = load(path)
    if manifests.errors:
        problems += [str(e) for e in manifests.errors[:5]]
    index = Index(manifests)
    by_release: dict[str, set[str]] = {}
    for r in manifests.resources:
        by_release.setdefault(r.labels.get("app.kubernetes.io/instance", ""), set()).add(r.kind)
    for w in index.workloads:
        kinds = by_release.get(w.pod_labels.get("app.kubernetes.io/instance", ""), set())
        if "ServiceMonitor" not in kinds:
            continue  # not a complete production copy (or the one cut short)
        links = {"pdbs": index.pdbs[w], "services": index.services[w],
                 "network_policies": index.network_policies[w], "monitors": index.monitors[w]}
        for what, linked in links.items():
            if len(linked) != 1 or linked[0].name != w.name:
                problems.append(f"{w.name}: {what} linked to {[r.name for r in linked]}")
        claim = w.volume("data").source.get("claimName") if w.volume("data") else None
        if (w.namespace, claim) not in index.pvcs:
            problems.append(f"{w.name}: claim {claim!r} not found in {w.namespace}")
    return problems


def _strings(value, where: str):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{where}[{i}]")
    elif isinstance(value, str):
        yield where, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="object counts, comma-separated")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--namespaces", type=int, default=DEFAULT_NAMESPACES)
    parser.add_argument("--verify", action="store_true",
                        help="parse each corpus and check names and cross-references")
    args = parser.parse_args(argv)
    failed = False
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        path, facts = ensure(n, args.seed, args.namespaces)
        print(f"{path.relative_to(ROOT)}: {facts['objects']} objects, {facts['copies']} copies "
              f"{facts['variants']}, {facts['bytes'] / 1e6:.1f} MB, {facts['lines']} lines")
        if args.verify:
            problems = verify(path, facts)
            for p in problems[:20]:
                print(f"  problem: {p}")
            print(f"  verify: {'ok' if not problems else f'{len(problems)} problem(s)'}")
            failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
