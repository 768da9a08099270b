"""One target, one task: the function the local process pool and the Dask workers both run.

`run_target(job)` renders the chart (or reads the rendered files) and hashes what it would analyze.
Same hash as the target's last good run (and no --force): the target is `unchanged` and keeps
that report. Otherwise it writes a new report into DIR/<target>/<run-id>/ that compares against
the previous run's manifests, and works out what is new and what was resolved since then from
the two runs' findings.json. It returns an Outcome, a small record the client turns into history,
summary and the fleet page; it raises nothing: a target that fails is an Outcome with status
`failed` and its one-line error.

The report's two sets are named "last run <run-id>" and "this run <run-id>", so its every section
says what changed since the last run. A run directory is an ordinary report plus
`inputs/<target>-<run-id>.yaml` (the manifests analyzed: the next run's baseline; each Secret
value replaced by a digest, the file 0600 in a 0700 directory), beside it `….crds.yaml` (the
chart's crds/: the schemas its custom resources were judged against, which the next run judges
the last run's manifests against too) and `run.json` (this Outcome),
written last: a directory without it is not a finished run. DIR/<target> must be a directory of
DIR's own: a symbolic link there fails the target and is never followed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import stat
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import util
from pathlib import Path
from typing import Any, Literal

from toolman_kit import __version__
from toolman_kit.analysis import Analysis
from toolman_kit.atomic import write_atomic
from toolman_kit.chart import sources
from toolman_kit.chart.redact import mask_secrets
from toolman_kit.chart.render import crd_objects, prepare, read_values_file, render
from toolman_kit.chart.sandbox import timeout_set
from toolman_kit.errors import FleetError, ManifestError, ToolmanKitError
from toolman_kit.fleet.fleetfile import Target
from toolman_kit.judge.findings import COLUMNS
from toolman_kit.judge.profiles import Profile, derived, load_profile
from toolman_kit.read.manifests import MANIFEST_SUFFIXES

MARKER = ".toolman-fleet"  # in DIR, holding the batch client's token: proves DIR is shared
RUN_JSON = "run.json"
WORST = ("fail", "warning", "pass", "n/a")  # checklist statuses, worst first
SAME_FAILURE = ("check_id", "kind", "namespace", "name", "container", "path")


@dataclass(frozen=True)
class Job:
    """What a task gets: its target, where to write, and the run before this one."""

    target: Target
    out: str  # the batch's output directory (on Dask: storage every worker shares)
    run_id: str
    token: str  # the content of DIR/.toolman-fleet as the client wrote it
    previous: str | None = None  # run id of the target's last finished run
    force: bool = False


RunStatus = Literal["ok", "unchanged", "failed"]


@dataclass
class Outcome:
    target: str
    run_id: str
    status: RunStatus
    error: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # Findings.counts: error warning …
    new: list[dict[str, Any]] = field(default_factory=list)  # failures since the last run
    resolved: list[dict[str, Any]] = field(default_factory=list)
    compared_with: str | None = None  # the previous run id, "baseline", or None
    input_hash: str = ""
    report: str = ""  # index.html of the target's latest report, relative to DIR
    checklist: dict[str, str] = field(default_factory=dict)  # component → worst status
    seconds: float = 0.0
    worker: str = ""  # host:pid that ran the task
    checklist_counts: dict[str, int] = field(default_factory=dict)  # rows by status: fail …
    chart: str = ""  # a fetched chart: its reference and digest ("": a directory, manifests)

    @classmethod
    def read(cls, path: Path) -> Outcome:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def run_target(job: Job) -> Outcome:
    # The target's render_timeout holds for its renders only: this thread's, not the process's.
    with timeout_set(job.target.render_timeout, "the fleet file's render_timeout"):
        return _run_target(job)


def _run_target(job: Job) -> Outcome:
    started = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    t, label = job.target, ""
    try:
        _check_shared(job.out, job.token)
        target_dir(job.out, t.name)
        source = None
        if t.chart and (sources.is_remote(t.chart, t.repo) or t.version):
            fetched = sources.resolve(t.chart, t.repo, t.version,  # verified, cached
                                      plain_http=t.plain_http)
            t, source = replace(t, chart=str(fetched.path), repo=None, version=None), \
                fetched.digest
            label = fetched.label
        if t.chart:  # with the subcharts its values enable, fetched here as this target says
            # (plain_http): the report renders the same directory and fetches nothing
            texts = [read_values_file(v) for v in t.values]
            t = replace(t, chart=str(prepare(t.chart, texts=texts, plain_http=t.plain_http)))
        job = replace(job, target=t)
        text, crds = _manifests(t)
        text = mask_secrets(text, load_profile(t.profile).secret_env)  # kept on disk
        digest = input_hash(t, text, source, crds)
        previous = _previous(job)
        if (previous and previous.status == "ok" and previous.input_hash == digest
                and not job.force):
            outcome = replace(previous, run_id=job.run_id, status="unchanged", new=[],
                              resolved=[], compared_with=previous.run_id)
        else:
            outcome = _report(job, text, crds, digest, previous, started, worker, label)
    except ToolmanKitError as exc:
        outcome = Outcome(t.name, job.run_id, "failed", _one_line(str(exc)))
    except OSError as exc:
        outcome = Outcome(t.name, job.run_id, "failed", _os_error(exc))
    except Exception as exc:  # noqa: BLE001 - one target's bug must not stop the fleet
        outcome = Outcome(t.name, job.run_id, "failed",
                          _one_line(f"{type(exc).__name__}: {exc}"))
    outcome.seconds, outcome.worker = round(time.perf_counter() - started, 3), worker
    outcome.chart = label or outcome.chart
    return outcome


def input_hash(target: Target, manifests: str, source: str | None = None,
               crds: str = "") -> str:
    """What decides a report: the manifests analyzed (after rendering), the chart's CRDs (the
    schemas of its custom resources), the digest of the chart archive they came from (a
    repository or registry chart), the profile's content, the admission policies' content (the
    profile's and the target's), the Kubernetes version and API versions, the release
    namespace, the title and this kit's version."""
    profile = target_profile(target)
    policies = _read_files(profile.policies) if profile.policies else ""
    profile = replace(profile, source="", policies=())  # content, not where it lives
    h = hashlib.sha256()
    for part in (__version__, target.kube_version, target.api_versions, target.namespace,
                 target.title, source or "",
                 repr(profile), policies, manifests, crds):
        h.update(f"{part}".encode() + b"\0")
    return h.hexdigest()[:16]


def target_profile(target: Target) -> Profile:
    """The target's profile with the fleet file's policies added to its own."""
    profile = load_profile(target.profile)
    if not target.policies:
        return profile
    return replace(profile, policies=tuple(dict.fromkeys((*profile.policies, *target.policies))))


def target_dir(out: str | Path, target: str) -> Path:
    """DIR/<target>, made if missing and checked with lstat: a symbolic link put there (say,
    between runs) is an error for the target, never followed to prune or write elsewhere."""
    directory = Path(out) / target
    with contextlib.suppress(FileExistsError):
        os.mkdir(directory)
    mode = os.lstat(directory).st_mode
    if stat.S_ISLNK(mode):
        raise FleetError("is a symbolic link: not followed (nothing is written or pruned "
                         "through it); remove it", str(directory))
    if not stat.S_ISDIR(mode):
        raise FleetError("is not a directory: remove it", str(directory))
    return directory


def run_dir(out: str | Path, target: str, run_id: str) -> Path:
    return Path(out) / target / run_id


INPUTS = "inputs"  # 0700 beside the report: the published pages stay readable, the manifests not


def input_file(out: str | Path, target: str, run_id: str) -> Path:
    """The manifests a run analyzed (runs of kits before 0700 `inputs/` kept them beside the
    report: read there when that is where they are)."""
    run = run_dir(out, target, run_id)
    old = run / f"{target}-{run_id}.yaml"
    return old if old.is_file() else run / INPUTS / old.name


def crds_file(out: str | Path, target: str, run_id: str) -> Path:
    """The chart's CRDs a run judged its custom resources against (absent: none, or a run of
    a kit that kept none)."""
    return run_dir(out, target, run_id) / INPUTS / f"{target}-{run_id}.crds.yaml"


# --- the steps ---------------------------------------------------------------------------------

def _check_shared(out: str, token: str) -> None:
    marker = Path(out) / MARKER
    try:
        seen = marker.read_text(encoding="utf-8").strip()
    except OSError:
        seen = None
    if seen != token:
        raise FleetError(f"this worker ({socket.gethostname()}) does not see the batch's output "
                         f"directory ({marker} {'is missing' if seen is None else 'differs'}): "
                         "every worker must mount it, writable, at the same path")


def _manifests(t: Target) -> tuple[str, str]:
    """The text to analyze (the chart rendered, or the rendered files one after the other) and
    the chart's CRDs (its crds/ and its subcharts'), which are schemas for its custom
    resources, not objects of the release: they are judged apart, never as manifests."""
    if t.chart:
        rendered = render(t.chart, t.values, release=t.release or t.name,
                          namespace=t.namespace or "default", kube_version=t.kube_version,
                          lint=False,
                          api_versions=load_profile(t.profile).served(t.api_versions))
        crds = "".join(f"---\n# Source: {where}\n{text}" + ("" if text.endswith("\n") else "\n")
                       for where, text in rendered.crds)
        return rendered.text, crds
    return _read_files(t.paths), ""


def _read_files(paths: tuple[str, ...]) -> str:
    """Files, and the manifest files of directories (sorted), one after the other."""
    parts = []
    for given in map(Path, paths):
        files = sorted(p for p in given.rglob("*") if p.suffix in MANIFEST_SUFFIXES
                       and p.is_file()) if given.is_dir() else [given]
        if given.is_dir() and not files:
            raise ManifestError("directory holds no *.yaml, *.yml or *.json", str(given))
        for f in files:
            try:
                text = f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ManifestError(f"cannot read: {getattr(exc, 'strerror', None) or exc}",
                                    str(f)) from None
            parts.append(f"---\n{text}" + ("" if text.endswith("\n") else "\n"))
    return "".join(parts)


def _previous(job: Job) -> Outcome | None:
    if job.previous is None:
        return None
    try:
        return Outcome.read(run_dir(job.out, job.target.name, job.previous) / RUN_JSON)
    except (OSError, ValueError, TypeError):
        return None  # gone or unreadable: this run compares against nothing


def _report(job: Job, text: str, crds: str, digest: str, previous: Outcome | None,
            started: float, worker: str, chart: str = "") -> Outcome:
    t = job.target
    # The CRDs are staged beside the run (the baseline set reads them) until it is finished.
    staged = Path(job.out) / t.name / f".crds-{job.run_id}.yaml"
    try:
        if crds:
            write_atomic(staged, crds)
        # The report's kernels load the profile by path: the fleet file's policies in a
        # derived one.
        with derived(t.profile, {"policies": list(t.policies)}) if t.policies \
                else contextlib.nullcontext(t.profile) as profile:
            return _report_with(job, profile, text, staged if crds else None, digest,
                                previous, started, worker, chart)
    finally:
        staged.unlink(missing_ok=True)


def _report_with(job: Job, profile: str, text: str, crds: Path | None, digest: str,
                 previous: Outcome | None, started: float, worker: str,
                 chart: str) -> Outcome:
    from toolman_kit.present.report import build_report

    t, out = job.target, run_dir(job.out, job.target.name, job.run_id)
    try:
        report = build_report(
            out, sets=_sets(job, previous, crds), chart=t.chart, profile=profile,
            namespace=t.namespace, release=t.release or t.name,
            title=t.title or f"{t.name} Deployment Analysis", jobs=1, kernels=_kernels(),
            kube_version=t.kube_version, api_versions=t.api_versions)
        (out / INPUTS).mkdir(mode=0o700)
        write_atomic(out / INPUTS / f"{t.name}-{job.run_id}.yaml", text, mode=0o600)
        if crds:
            os.replace(crds, crds_file(job.out, t.name, job.run_id))
        findings, checklist = _read_findings(out)
        if previous and (old := _read_findings(run_dir(job.out, t.name, previous.run_id))):
            new, resolved, compared = *_since(old[0], findings), previous.run_id
        elif t.baseline:
            new, resolved, compared = *_since(_analyze(t, crds), findings), "baseline"
        else:
            new, resolved, compared = [], [], None
        errors = report.input_errors
        c = report.counts  # checklist rows by status, and "findings": the findings' counts
        outcome = Outcome(
            t.name, job.run_id, "failed" if errors else "ok",
            _one_line(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
            if errors else "", c["findings"], new, resolved, compared, digest,
            f"{t.name}/{job.run_id}/index.html", checklist,
            round(time.perf_counter() - started, 3), worker,
            {status: n for status, n in c.items() if status != "findings"}, chart)
        write_atomic(out / RUN_JSON, json.dumps(asdict(outcome), indent=1, ensure_ascii=False))
    except BaseException:
        if not (out / RUN_JSON).exists():  # never leave half a run behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    return outcome


def _sets(job: Job, previous: Outcome | None, crds: Path | None = None
          ) -> list[dict[str, Any]]:
    """The report's sets: the last run's manifests (else the fleet file's baseline, if any),
    then this run's. The last run's are judged against the CRDs it kept; the baseline against
    this run's (`crds`)."""
    t = job.target
    this: dict[str, Any] = {"name": f"this run {job.run_id}"}
    this.update({"values": list(t.values)} if t.chart else {"manifests": list(t.paths)})
    before = input_file(job.out, t.name, previous.run_id) if previous else None
    if previous and before and before.is_file():
        kept = crds_file(job.out, t.name, previous.run_id)
        return [{"name": f"last run {previous.run_id}", "manifests": [str(before)],
                 **({"crds": [str(kept)]} if kept.is_file() else {})}, this]
    if t.baseline:
        name = ", ".join(Path(p).name for p in t.baseline)
        return [{"name": name, "manifests": list(t.baseline),
                 **({"crds": [str(crds)]} if crds else {})}, this]
    return [this]


def _read_findings(directory: Path) -> tuple[Any, dict[str, str]] | None:
    """(findings frame, checklist component → worst status) from a report's findings.json."""
    import pandas as pd

    try:
        doc = json.loads((directory / "findings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    checklist: dict[str, str] = {}
    for row in doc.get("checklist", ()):
        now = checklist.get(row["component"], "n/a")
        checklist[row["component"]] = min(now, row["status"], key=WORST.index)
    return pd.DataFrame(doc.get("findings", []), columns=list(COLUMNS)), checklist


def _analyze(t: Target, crds: Path | None) -> Any:
    a = Analysis.of(*t.baseline, profile=target_profile(t), namespace=t.namespace,
                    kube_version=t.kube_version)
    if not crds:
        return a.findings
    manifests = a.manifests  # judged again with the chart's CRDs as schemas
    manifests.crds = crd_objects([(str(crds), crds.read_text(encoding="utf-8"))],
                                 manifests.namespace)
    return Analysis.of(manifests, profile=target_profile(t),
                       kube_version=t.kube_version).findings


def _since(before: Any, after: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Failures introduced and fixed between two findings frames: a failure is the same one in
    both runs when its check, object, container and field (path: which volume…) are."""
    def failures(df: Any) -> dict[tuple, dict[str, Any]]:
        rows = df[df["status"] == "fail"].fillna({"container": "", "path": ""})
        first: dict[tuple, dict[str, Any]] = {}
        for r in rows.to_dict("records"):
            first.setdefault(tuple(r[k] for k in SAME_FAILURE), r)
        return first

    def shown(rows: dict[tuple, dict[str, Any]], keys: set[tuple]) -> list[dict[str, Any]]:
        return [{k: r[k] for k in (*SAME_FAILURE, "severity", "message")}
                for key, r in rows.items() if key in keys]

    old, new = failures(before), failures(after)
    return shown(new, new.keys() - old.keys()), shown(old, old.keys() - new.keys())


# --- kernels: one pool per process, kept across the targets it runs ---------------------------

_KERNELS: list[Any] = []
_KERNELS_LOCK = threading.Lock()  # a Dask worker may run several tasks in threads


def _kernels() -> Any:
    """This process's kernels (started on first use, shut down when the process exits): the
    kernel start and the imports in it are paid once per worker process, not per target."""
    with _KERNELS_LOCK:
        if not _KERNELS:
            from toolman_kit.present.report import Kernels

            _KERNELS.append(Kernels())
            # Runs at exit of the main process, of pool workers and of Dask worker processes.
            util.Finalize(None, _KERNELS[0].close, exitpriority=10)
        return _KERNELS[0]


def _os_error(exc: OSError) -> str:
    return _one_line(f"cannot {'write' if exc.errno in (13, 28, 30) else 'use'} "
                     f"{exc.filename}: {exc.strerror} (on {socket.gethostname()})")


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
