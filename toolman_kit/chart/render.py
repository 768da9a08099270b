"""Chart + values → the text `helm template` prints, and the messages of `helm lint`.

Backends: the `helm` binary when it is on PATH, else the in-process Helm SDK (`helm-python-sdk`,
the `helm` extra). With the SDK the pieces `helm template` adds around the engine are ours:
values merging (`-f` files, then `--set`) and the manifest layout, which follows Helm v4's
`SortManifests` (checked byte for byte against the SDK's client-side dry-run install):
  * template paths sorted; partials (`_*`), NOTES.txt and whitespace-only renders skipped;
  * each file's text is left-trimmed and split with the regex `(?:^|\\s*\\n)---\\s*`, empty pieces
    dropped, pieces kept otherwise verbatim (so the last document of a file keeps its trailing
    newline, which `helm template` v4 prints as a blank line before the next `---`);
  * documents with a `helm.sh/hook` annotation are hooks, printed after the others;
  * both lists are STABLY sorted by INSTALL_ORDER; unknown kinds last, alphabetically by kind;
  * each is printed as `---\\n# Source: <path>\\n<doc>\\n`; the manifest part is whitespace-trimmed
    and ends with one newline (cmd/helm/template.go), then the hooks follow.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from toolman_kit.chart import dependencies, sources
from toolman_kit.chart.capabilities import (
    CRD_KIND,
    api_version,
    api_versions,
    chart_crds,
    rendered_crd_versions,
)
from toolman_kit.chart.lint import LintMessage, as_rendered, lint_cli
from toolman_kit.chart.merging import merge_values
from toolman_kit.chart.redact import given_strings, helm_message, mask, redact_set, set_strings
from toolman_kit.chart.sandbox import limits, shared
from toolman_kit.chart.sources import deps
from toolman_kit.chart.untrusted import check_chart_files
from toolman_kit.errors import RenderError
from toolman_kit.judge.apis import DEFAULT_KUBE_VERSION, helm_kube_version
from toolman_kit.read import yamlsafe
from toolman_kit.read.manifests import LoadError, Manifests, Resource, Text, load

_SEVERITY = {0: "info", 1: "info", 2: "warning", 3: "error"}  # lint/support: Unknown..ErrorSev
RELEASE = "release-name"  # helm template's own default
NO_BACKEND = ("no Helm backend: install the helm CLI or `pip install 'toolman-kit[helm]'`, "
              "or pass rendered manifests")

# Helm's releaseutil.InstallOrder (v4.2 also puts PriorityClass first).
INSTALL_ORDER = (
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
    "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
    "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
    "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
)
_RANK = {kind: i for i, kind in enumerate(INSTALL_ORDER)}
_SEP = re.compile(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")  # releaseutil.SplitManifests (Go \s)
_WHERE = re.compile(r"([^\s():]+/templates/[^\s():]+):(\d+)(?::(\d+))?")


Backend = Literal["helm-cli", "helm-sdk"]


@dataclass(frozen=True)
class Rendered:
    """A chart's rendering: what `helm template` prints, and what `helm lint` says.

    Pass it to `analyze`, `checklist`, `pod_security` or `Analysis.of` as it is.

    Example:
        >>> r = tk.render("examples/toolman/chart", release="toolman", namespace="toolman")
        >>> r.text.splitlines()[1], r.chart
        ('# Source: toolman/templates/serviceaccount.yaml', 'examples/toolman/chart')
    """

    text: str  # exactly what `helm template` prints
    lint: tuple[LintMessage, ...]
    backend: Backend
    chart: str  # the chart directory as given; a fetched chart: its reference (sources.shown)
    values_files: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # e.g. disabled subcharts missing from charts/, skipped
    crds: tuple[tuple[str, str], ...] = ()  # (file, text) of the chart's crds/ (chart_crds)
    directory: str = ""  # the directory rendered ("": `chart`)
    digest: str | None = None  # a fetched chart's archive digest (sha256:…)


def render(chart_dir: str | os.PathLike[str], values_files: Sequence[str | os.PathLike[str]] = (),
           set_values: Sequence[str] | None = None, release: str = "release-name",
           namespace: str = "default", kube_version: str | None = None,
           lint: bool = True, api_versions: Sequence[str] = (), repo: str | None = None,
           version: str | None = None, offline: bool | None = None,
           plain_http: bool | None = None) -> Rendered:
    """`helm template RELEASE CHART -n NAMESPACE -f F... --set S... --kube-version V` plus
    `helm lint`.

    `set_values` is a list of `--set` expressions exactly as given to the CLI ("a.b=v,c=w",
    "list={1,2}"; a single string is one expression), applied in order after the values files.
    With the SDK each expression is parsed by Helm's strvals and deep-merged like a values file,
    so an index (`l[1]=x`) replaces a list from the files instead of patching it.
    `chart` in the result is `chart_dir` as given; `lint` is `helm lint` with the same values.

    Args:
        chart_dir: the chart directory (holding Chart.yaml), a packaged chart (.tgz), an
            http(s) URL of one, `oci://host/path/name[:tag]`, or a chart name with `repo`
            (chart/sources/: downloads verified and cached by digest).
        values_files: values files, as `-f`, later ones win.
        set_values: `--set` expressions, applied after the files.
        release: the release name (`helm template RELEASE`).
        namespace: the release namespace (`-n`).
        kube_version: what templates see as .Capabilities.KubeVersion, e.g. "1.29" (None:
            Helm's own default).
        api_versions: `--api-versions` (GROUP/VERSION[/KIND]) served besides the built-ins
            of `kube_version` and the chart's CRDs (chart/capabilities.py).
        lint: also run `helm lint` (the fleet's input hash needs only the render).
        repo: an HTTP chart repository's URL (`helm --repo`); `chart_dir` is then a name.
        version: the version or semver range (`^1.2`, `>=1 <2`) for `repo` and oci://.
        offline: never touch the network (None: TOOLMAN_KIT_OFFLINE); missing dependencies
            that are enabled are fetched otherwise.
        plain_http: OCI registries over plain HTTP, not only on the loopback address (helm
            --plain-http; None: TOOLMAN_KIT_PLAIN_HTTP).

    Returns:
        A `Rendered` (text, lint messages, backend, chart, values files).

    Raises:
        RenderError: not a chart, a template error (with file and line), or no Helm backend.

    Example:
        >>> r = tk.render("examples/toolman/chart",
        ...               ["examples/toolman/chart/values-production.yaml"],
        ...               release="toolman", namespace="toolman")
        >>> tk.checklist(r).set_index("component").loc["Replicas", "status"]
        'pass'
    """
    files = tuple(str(f) for f in values_files)
    texts = [read_values_file(f) for f in files]
    sets = [set_values] if isinstance(set_values, str) else list(set_values or ())
    chart = prepare(chart_dir, repo, version, offline, texts, sets, plain_http=plain_http)
    kube = helm_kube_version(kube_version) if kube_version else None
    extra = tuple(api_version(a) for a in api_versions)
    try:
        if shutil.which("helm"):
            text, messages = _render_cli(chart, files, sets, release, namespace, kube, lint,
                                         extra)
            backend, warnings = "helm-cli", []
        else:
            text, messages, warnings = _render_sdk(chart, files, texts, sets, release,
                                                   namespace, kube, lint, extra)
            backend = "helm-sdk"
    except RenderError as e:  # Helm's message may quote a value given in a file or a --set
        raise _masked(e, _given(texts, sets)) from None
    if messages:  # helm lint quotes them too
        given = _given(texts, sets)
        messages = tuple(LintMessage(m.severity, m.path, mask(helm_message(m.message), given))
                         for m in messages)
    source = sources.named(chart)
    return Rendered(text, messages, backend, source.ref if source else str(chart_dir), files,
                    tuple(warnings), tuple(chart_crds(chart)), str(chart),
                    source.digest if source else None)


def crd_objects(crds: Sequence[tuple[str, str]], namespace: str | None = None
                ) -> list[Resource]:
    """The CustomResourceDefinitions in a chart's crds/ files (Rendered.crds), for
    Manifests.crds; what does not parse is left out (Helm refuses it at install)."""
    if not crds:
        return []
    loaded = load(*(Text(where, text) for where, text in crds), namespace=namespace)
    return [r for r in loaded.resources if r.kind == CRD_KIND]


def prepare(chart_dir: str | os.PathLike[str], repo: str | None = None,
            version: str | None = None, offline: bool | None = None,
            texts: Sequence[str] = (), sets: Sequence[str] = (),
            value_sets: Sequence[tuple[Sequence[str], Sequence[str]]] = (),
            plain_http: bool | None = None) -> Path:
    """The chart directory to render: the chart named (chart/sources/), with the missing
    subcharts that these values (files' texts, --set expressions) enable fetched; with
    `value_sets` ((texts, sets) each: compare's, a report's), those any of them enables."""
    remote = sources.is_remote(chart_dir, repo) or version
    chart = sources.resolve(chart_dir, repo, version, offline, plain_http).path if remote \
        else Path(chart_dir)
    if not (chart / "Chart.yaml").is_file():
        raise RenderError("not a Helm chart directory (no Chart.yaml)", file=str(chart))
    check_chart_files(chart)
    offline = sources.offline_default() if offline is None else offline
    host = urlsplit(str(repo or chart_dir).replace("oci://", "https://")).netloc or None
    given = [_user_values(t, s) for t, s in value_sets] or _user_values(texts, sets)
    plain_http = sources.plain_http_default() if plain_http is None else plain_http
    return deps.complete(chart, given, offline, host, plain_http)


def _user_values(texts: Sequence[str], sets: Sequence[str]) -> dict[str, Any]:
    """The values given, merged, as far as they parse: enough to decide which subcharts are
    enabled (the render itself says what does not parse)."""
    values: dict[str, Any] = {}
    for text in texts:
        try:
            data = yamlsafe.parse(text).data
        except (yaml.YAMLError, yamlsafe.YAMLInputError):
            continue
        values = merge_values(values, data if isinstance(data, dict) else {})
    for expr in sets:
        try:
            values = merge_values(values, parse_set(expr))
        except RenderError:
            continue
    return values


def _given(texts: Sequence[str], sets: Sequence[str]) -> list[str]:
    """The strings given in values files and --set expressions: never to be echoed."""
    out = [s for e in sets for s in set_strings(e)]
    for text in texts:
        try:
            out += given_strings(yamlsafe.parse(text).data)
        except (yaml.YAMLError, yamlsafe.YAMLInputError):
            pass  # the render said so already
    return out


def _masked(e: RenderError, given: Sequence[str]) -> RenderError:
    return RenderError(mask(e.message, given), file=e.file, line=e.line, column=e.column)


def load_chart(chart: str | Path, values: Sequence[str | Path] = (),
               set_values: Sequence[str] = (), release: str = "release-name",
               namespace: str | None = None, kube_version: str | None = None,
               api_versions: Sequence[str] = (), repo: str | None = None,
               version: str | None = None) -> tuple[Manifests, Rendered]:
    """Render a chart (helm template) and load the result; rows name it `<rendered CHART>`."""
    namespace = namespace or "default"  # helm's own default release namespace
    rendered = render(chart, list(values), list(set_values), release=release,
                      namespace=namespace, kube_version=kube_version, api_versions=api_versions,
                      repo=repo, version=version)
    manifests = load(Text(f"<rendered {rendered.chart}>", rendered.text), namespace=namespace)
    manifests.crds = crd_objects(rendered.crds, namespace)
    manifests.warnings += [LoadError(sources.shown(Path(chart) / "Chart.yaml"), None, w)
                           for w in rendered.warnings]
    named = rendered.directory if sources.named(rendered.directory) else chart
    manifests.inputs = [helm_template_command(release, named, namespace, values, set_values,
                                              kube_version, api_versions)]
    return manifests, rendered


def helm_template_command(release: str, chart: str | Path, namespace: str,
                          values: Sequence[str | Path] = (), set_values: Sequence[str] = (),
                          kube_version: str | None = None,
                          api_versions: Sequence[str] = ()) -> str:
    """The `helm template …` command line that names a rendered input in every output, the
    --set values redacted (`--set password=<redacted>`). A fetched chart is named as Helm
    takes it (`app --repo URL --version 1.2.3`), its archive's digest last, as a comment."""
    source = sources.named(chart)
    return (f"helm template {release} {source.helm if source else chart} -n {namespace}"
            + "".join(f" -f {v}" for v in values)
            + "".join(f" --set {redact_set(s)}" for s in set_values)
            + (f" --kube-version {kube_version}"
               if kube_version and kube_version != DEFAULT_KUBE_VERSION else "")
            + "".join(f" --api-versions {a}" for a in api_versions)
            + (f"  # {source.digest}" if source and source.digest else ""))


def read_values_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RenderError(f"cannot read values file: {getattr(e, 'strerror', None) or e}",
                          file=path) from None


def _render_cli(chart: Path, files: tuple[str, ...], sets: list[str], release: str,
                namespace: str, kube: str | None, lint: bool = True,
                extra: Sequence[str] = ()) -> tuple[str, tuple[LintMessage, ...]]:
    args = [a for f in files for a in ("-f", f)] + [a for s in sets for a in ("--set", s)]
    args += ["--namespace", namespace] + (["--kube-version", kube] if kube else [])
    served = ["--api-versions", ",".join(api_versions(chart, kube, extra))]  # as the SDK gets
    bounds = limits()
    try:
        done = subprocess.run(["helm", "template", release, str(chart), *args, *served],
                              capture_output=True, text=True, check=False,
                              timeout=bounds.timeout)
    except subprocess.TimeoutExpired:
        raise RenderError(f"render took longer than {bounds.timeout:g} s (--render-timeout)",
                          file=str(chart)) from None
    if len(done.stdout) > bounds.max_bytes:
        raise RenderError(f"render output over {bounds.max_bytes / 2**20:g} MB (--max-bytes)",
                          file=str(chart))
    if done.returncode != 0:
        stderr = done.stderr.strip()  # warnings may precede the "Error: ..." part
        raise _error(stderr.partition("Error: ")[2] or stderr or "helm template failed", chart)
    if not lint:
        return done.stdout, ()
    where = ["--namespace", namespace] + (["--kube-version", kube] if kube else [])
    messages = lint_cli(chart, [str(chart), *args], bounds.timeout)
    return done.stdout, as_rendered(chart, done.stdout, messages,
                                    lambda static: lint_cli(chart, [str(static), *where],
                                                             bounds.timeout))


def _render_sdk(chart: Path, files: tuple[str, ...], texts: list[str], sets: list[str],
                release: str, namespace: str, kube: str | None, lint: bool = True,
                extra: Sequence[str] = ()) -> tuple[str, tuple[LintMessage, ...], list[str]]:
    """In this process's render process (chart/sandbox.py), bounded in time, memory and size."""
    sdk()  # no backend: said here, not by the render process
    values: dict[str, Any] = {}
    for file, text in zip(files, texts, strict=True):
        values = merge_values(values, check_depth(parse_values(text, file), file))
    for expr in sets:
        key = expr.partition("=")[0]  # the key only: a value may be a secret
        values = merge_values(values, check_depth(parse_set(expr), f"--set {key}"))
    sandbox = shared()
    rendered, warnings = sandbox.call("render", str(chart), None, values, release, namespace,
                                      kube, tuple(extra), where=str(chart))
    text = _layout(rendered, chart)
    return text, sandbox.call("lint", str(chart), values, namespace, kube, text,
                              where=str(chart)) if lint else (), warnings


def check_depth(values: Any, where: str, limit: int = yamlsafe.MAX_DEPTH) -> Any:
    """`values` as they are, or a RenderError when maps and lists nest deeper than `limit`
    (nothing real comes close; Python's own recursion would end in a traceback)."""
    stack = [(values, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, Mapping) else node \
            if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, Mapping | list):
                if depth >= limit:
                    raise RenderError(f"values nested deeper than {limit} levels", file=where)
                stack.append((child, depth + 1))
    return values


def lint_sdk(chart: Path, values: Mapping[str, Any], namespace: str,
             kube: str | None = None, text: str | None = None) -> tuple[LintMessage, ...]:
    """`helm lint` with these values, through the SDK; with `text` (what the render printed),
    its templates rule judges that text (as_rendered)."""
    helm = sdk()

    def run(path: Path, values: Mapping[str, Any]) -> list[LintMessage]:
        try:
            report = helm.lint(path, dict(values), namespace=namespace, kube_version=kube)
        except helm.HelmError as e:
            raise _error(str(e), chart, values) from None
        given = given_strings(values)
        return [LintMessage(_SEVERITY.get(m.get("severity", 0), "error"), m.get("path", ""),
                            mask(_one_line(helm_message(m.get("error", ""))), given))
                for m in report.get("messages") or ()]

    messages = run(chart, values)
    return as_rendered(chart, text, messages, lambda static: run(static, {})) \
        if text is not None else tuple(messages)


def sdk() -> Any:
    """The helm_python module, or a RenderError saying how to get a Helm backend."""
    try:
        import helm_python
    except (ImportError, OSError):
        raise RenderError(NO_BACKEND) from None
    return helm_python


def load_chart_sdk(chart: Path) -> Any:
    """helm_python.Chart.load, with Helm's complaint as a RenderError; a chart whose symlinks
    or schema references leave it is refused first (chart/untrusted.py)."""
    helm = sdk()
    check_chart_files(chart)
    try:
        return helm.Chart.load(chart)
    except helm.HelmError as e:
        raise _error(str(e), chart) from None


def parse_values(text: str, file: str) -> dict[str, Any]:
    """A values file as Helm reads it (`-f`); a RenderError naming the file otherwise."""
    helm = sdk()
    try:
        return helm.values_from_yaml(text)
    except helm.HelmError as e:
        raise RenderError(f"invalid values file: {_one_line(str(e))}", file=file) from None
    except RecursionError:
        raise RenderError(f"values nested deeper than {yamlsafe.MAX_DEPTH} levels",
                          file=file) from None


def parse_set(expr: str) -> dict[str, Any]:
    """One `--set` expression as Helm's strvals parses it."""
    helm = sdk()
    try:
        return helm.parse_set_string(expr)
    except helm.HelmError as e:
        raise RenderError(f"invalid --set {redact_set(expr)!r}: "
                          f"{mask(_one_line(str(e)), set_strings(expr))}") from None
    except RecursionError:
        raise RenderError(f"--set: values nested deeper than {yamlsafe.MAX_DEPTH} levels"
                          ) from None


def check_renderable(loaded: Any, chart: Path, release: str) -> None:
    """What `helm template` refuses before rendering: a bad release name."""
    helm = sdk()
    try:
        helm.validate_release_name(release)
    except helm.HelmError as e:
        raise _error(str(e), chart) from None


def check_dependencies(loaded: Any, chart: Path, values: Mapping[str, Any]) -> list[str]:
    """Subcharts declared but missing from charts/ (the SDK renders without them), decided
    under these values as Helm does (chart/dependencies.py): a warning for the disabled ones,
    a RenderError naming the enabled ones and `helm dependency build`."""
    helm = sdk()
    try:
        declared = loaded.metadata.get("dependencies") or ()
        present = {str(d.get("name")) for d in loaded.dependencies}
        if all(str(d.get("name")) in present for d in declared):
            return []  # the usual case: no coalescing needed
        merged = loaded.merge_values(dict(values))
    except helm.HelmError as e:
        raise _error(str(e), chart, values) from None
    disabled, enabled = dependencies.missing(declared, present, merged)
    if enabled:
        raise RenderError(dependencies.missing_error(loaded.name, str(chart), enabled),
                          file=str(chart / "Chart.yaml"))
    return [dependencies.skipped_warning(loaded.name, disabled)] if disabled else []


def render_values(loaded: Any, chart: Path, values: Mapping[str, Any], release: str,
                  namespace: str, kube: str | None = None, max_bytes: int | None = None,
                  apis: Sequence[str] = ()) -> dict[str, str]:
    """The engine's output for one merged values mapping: {template path: text} (after
    check_renderable); a RenderError when it is larger than `max_bytes` (before it is decoded).

    helm-python-sdk 0.2.2's Chart.render() has no kube-version option, but the C ABI it wraps
    (helm-c-sdk `helm_render`) reads `kube_version` from its options JSON, so we call that entry
    point directly: .Capabilities.KubeVersion then follows --kube-version. It reads
    `api_versions` there too (added to Helm's own list): `apis`, plus the CRDs this render
    prints, for which the chart is rendered once more when they are new (as installing it would
    serve them)."""
    files = _render_once(loaded, chart, values, release, namespace, kube, max_bytes, apis)
    more = rendered_crd_versions(files) - set(apis)
    if more:
        files = _render_once(loaded, chart, values, release, namespace, kube, max_bytes,
                             sorted({*apis, *more}))
    return files


def _render_once(loaded: Any, chart: Path, values: Mapping[str, Any], release: str,
                 namespace: str, kube: str | None, max_bytes: int | None,
                 apis: Sequence[str]) -> dict[str, str]:
    helm = sdk()
    from helm_python import _native

    options = {"name": release, "namespace": namespace, "api_versions": list(apis),
               **({"kube_version": kube} if kube else {})}
    try:
        text = _native.call_string("helm_render", loaded._raw(), json.dumps(values),
                                   json.dumps(options))
    except helm.HelmError as e:
        raise _error(str(e), chart, values) from None
    if max_bytes is not None and len(text) > max_bytes:
        raise RenderError(f"render output over {max_bytes / 2**20:g} MB (--max-bytes)",
                          file=str(chart))
    return json.loads(text)


@dataclass(frozen=True)
class Document:
    """One rendered document: the template that wrote it, its kind and text, and its data."""

    template: str
    kind: str
    text: str
    data: Any
    hook: bool


def documents(files: Mapping[str, str], chart: Path,
              parsed: dict[str, Any] | None = None) -> list[Document]:
    """The engine's output as documents, in template order (partials, NOTES.txt and
    whitespace-only renders skipped); a RenderError on a document that is not YAML. `parsed`
    (document text → data) spares re-parsing what an earlier render of the chart printed: the
    data is then shared, and must be treated as read-only."""
    out = []
    for path in sorted(files):
        content = files[path]
        if (os.path.basename(path).startswith("_") or path.endswith("NOTES.txt")
                or not content.strip()):
            continue
        for line, doc in _split(content):
            if parsed is not None and doc in parsed:
                data = parsed[doc]
                out.append(Document(path, _kind(data), doc, data, _hook(data)))
                continue
            try:  # the hardened parse of `check`: bounded depth and aliases
                data = yamlsafe.parse(doc).data
            except yamlsafe.YAMLInputError as e:
                raise RenderError(f"YAML parse error in rendered output: {_one_line(e.message)}",
                                  file=_on_disk(path, chart),
                                  line=None if e.line is None else line + e.line,
                                  column=None if e.column is None else e.column + 1) from None
            if parsed is not None:
                parsed[doc] = data
            out.append(Document(path, _kind(data), doc, data, _hook(data)))
    return out


def _kind(data: Any) -> str:
    return str(data.get("kind") or "") if isinstance(data, dict) else ""


def _hook(data: Any) -> bool:
    meta = data.get("metadata") if isinstance(data, dict) else None
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    return isinstance(notes, dict) and "helm.sh/hook" in notes


def layout(docs: Sequence[Document]) -> str:
    """Helm's SortManifests + the `helm template` printing (see the module docstring)."""
    def key(d: Document) -> tuple[int, str]:
        return (_RANK[d.kind], "") if d.kind in _RANK else (len(_RANK), d.kind)

    def show(items: list[Document]) -> str:
        return "".join(f"---\n# Source: {d.template}\n{d.text}\n"
                       for d in sorted(items, key=key))

    manifest = show([d for d in docs if not d.hook]).strip()
    return (manifest + "\n" if manifest else "") + show([d for d in docs if d.hook])


def _layout(files: Mapping[str, str], chart: Path) -> str:
    return layout(documents(files, chart))


def _split(content: str) -> Iterator[tuple[int, str]]:
    """releaseutil.SplitManifests: (1-based line in the rendered file, document) pairs."""
    text = content.lstrip()
    line0 = content[: len(content) - len(text)].count("\n") + 1
    start = 0
    for m in [*_SEP.finditer(text), None]:
        end = m.start() if m else len(text)
        if end > start:
            yield line0 + text.count("\n", 0, start), text[start:end]
        if m:
            start = m.end()


def _error(detail: str, chart: Path, values: Mapping[str, Any] | None = None) -> RenderError:
    """A one-line RenderError pointing at the template (and line) named in Helm's message; its
    schema violations name key and rule, and no string of `values` (the user's) is quoted."""
    message = _one_line(helm_message(detail)).rstrip(";")
    where = _WHERE.search(message)
    if where and message.startswith(where[0]):
        message = message[len(where[0]):].lstrip(": ") or message
    message = mask(message, given_strings(values))
    if not where:
        return RenderError(message, file=str(chart))
    return RenderError(message, file=_on_disk(where[1], chart), line=int(where[2]),
                       column=int(where[3]) if where[3] else None)


def _on_disk(template: str, chart: Path) -> str:
    """`toolman/templates/x.yaml` (Helm's name) → `<chart_dir>/templates/x.yaml`."""
    return str(chart / template.split("/", 1)[1]) if "/" in template else template


def _one_line(text: str) -> str:
    return " ".join(text.split())
