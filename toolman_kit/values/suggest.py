"""`toolman-kit suggest`: a values override that makes as many failing checks pass as values alone
can, every line proven by a render, and an honest list of what needs a template change instead.

The proof runs in rounds, each on top of what the rounds before accepted. In a round every
candidate (made by values/recipes.py) for what still fails is rendered and checked (renders in
parallel, one batch). A candidate is kept when it fixes a failure it aims at and introduces
none; one that introduces failures is retried with a partner, a candidate for what it introduced
(3 replicas sharing a ReadWriteOnce claim: the chart's accessMode key). The candidates a round
keeps are applied together and rendered once more; if together they do not do what each did
alone, they are applied one by one instead. A round that keeps nothing may accept one
trade-off: a candidate that fixes a failure more severe than any it introduces, with nothing to
resolve those (they are listed in `introduced`, with the key that causes them). A round that
keeps nothing else ends the search, as does the render budget.

Values apply in `helm` order: the user's files, then the suggestion, then the `--set`
expressions, which win. The suggestion is written as YAML, parsed back, rendered and checked
as a whole; that last checklist is the one reported. Everything is ordered, so the same inputs
give the same file, byte for byte.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from toolman_kit.analysis import Analysis, with_kube_version
from toolman_kit.chart.batch import Output, Renderer, values_digest
from toolman_kit.chart.merging import merge_values
from toolman_kit.chart.render import RELEASE, parse_set, parse_values
from toolman_kit.chart.sources import shown
from toolman_kit.chart.values import (
    DEFAULT_MAX_RENDERS,
    Budget,
    ChartFacts,
    ValueSet,
    build_sets,
    chart_facts,
)
from toolman_kit.chart.valuesfile import dump_values
from toolman_kit.errors import RenderError
from toolman_kit.judge.apis import helm_kube_version
from toolman_kit.judge.profiles import Profile, load_profile
from toolman_kit.judge.registry import catalogue
from toolman_kit.progress import Progress
from toolman_kit.read.manifests import Manifests, Resource, Source, Text, load, place
from toolman_kit.values.candidates import (
    Candidate,
    Context,
    Failure,
    Unreached,
    failures,
    known_keys,
    rank,
)
from toolman_kit.values.provenance import Field, Hardcoded, Provenance, hardcoded, provenance
from toolman_kit.values.recipes import candidates
from toolman_kit.values.sets import render_warnings

MAX_ROUNDS = 50  # each keeps something; a safety net, never reached in practice


@dataclass
class Trial:
    """The render of the user's values with an override, and what fails in it."""

    override: dict[str, Any]
    output: Output
    analysis: Analysis | None = None
    failing: dict[tuple, Failure] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        return None if self.output.error is None else self.output.error.message


@dataclass
class Step:
    """Candidates the proof kept together (one, or a candidate and its partner)."""

    candidates: list[Candidate]
    fixed: list[Failure]
    introduced: list[Failure] = field(default_factory=list)  # a trade-off's, else empty

    @property
    def keys(self) -> list[tuple[str, ...]]:
        return [k for c in self.candidates for k in c.keys]


@dataclass
class Suggestion:
    chart: Path
    name: str
    version: str
    profile: str
    kube_version: str
    release: str
    namespace: str
    files: list[str]
    set_values: list[str]
    values: dict[str, Any]  # the override
    steps: list[Step]
    before: Analysis
    after: Analysis
    fixed: list[tuple[Failure, list[tuple[str, ...]]]]
    remaining: list[tuple[Failure, Unreached]]
    introduced: list[tuple[Failure, list[tuple[str, ...]], str]]
    renders: int = 0
    max_renders: int = DEFAULT_MAX_RENDERS
    not_tried: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)  # values.yaml's key lines
    warnings: list[dict[str, Any]] = field(default_factory=list)  # {file, message}, each once
    api_versions: list[str] = field(default_factory=list)  # served besides built-ins and CRDs
    release_given: bool = True  # False: rendered with helm's "release-name"
    release_keys: list[tuple[str, ...]] = field(default_factory=list)  # values naming `release`

    @property
    def release_warning(self) -> str | None:
        """Why the release name matters, when it was not given and the values name it."""
        if self.release_given or not self.release_keys:
            return None
        keys = ", ".join(".".join(k) for k in self.release_keys)
        return (f"rendered with release name '{self.release}': give --release NAME (the release "
                f"you install): the values of {keys} name it, so under another release they "
                "select nothing")

    @property
    def text(self) -> str:
        """The values file as `toolman-kit suggest` writes it, a comment above each key."""
        from toolman_kit.present.suggestion_doc import to_yaml  # a view: see test_layers

        return to_yaml(self)


def suggest(chart: str | os.PathLike[str], files: Sequence[str] = (),
            set_values: Sequence[str] = (), release: str | None = None,
            namespace: str | None = None, profile: str | Path | Profile = "production",
            kube_version: str | None = None, max_renders: int = DEFAULT_MAX_RENDERS,
            jobs: int | None = None, progress: TextIO | None = None,
            api_versions: Sequence[str] = ()) -> Suggestion:
    """The values override that makes as many failing checks pass as values alone can, each
    value proven by a render, for `chart` rendered with `files` and `set_values`.

    Args:
        chart: the Helm chart directory.
        files: the starting values files (later wins); the suggestion goes after them.
        set_values: the starting `--set` expressions; they still win over the suggestion, as
            with helm.
        release: the release name (None: helm's "release-name", and the suggestion says which
            of its values name it: `.release_keys`, `.release_warning`).
        namespace: the release namespace (default: "default").
        profile: a built-in profile name, a profile YAML path, or a `Profile`.
        kube_version: the Kubernetes version rendered for and checked against (None: the
            profile's).
        max_renders: bound on renders (provenance and candidates); what it leaves out is in
            `not_tried`.
        jobs: render processes (None: the CPU count).
        progress: a stream for progress (a bar on a terminal, a line per batch otherwise).
        api_versions: served besides the built-ins and the chart's CRDs (`--api-versions`).

    Returns:
        A `Suggestion`: `.values` (the override), `.text` (the values file with a comment above
        each key), `.fixed`, `.remaining` (each with why, and the template line where no values
        key reaches the field), `.introduced`, and the analyses `.before` and `.after` (that of
        the file as written, rendered again).

    Raises:
        RenderError: the chart does not render with the starting values (Helm's message).

    Example:
        >>> s = tk.suggest("examples/toolman/chart", release="toolman", namespace="toolman",
        ...                profile="examples/toolman/profile.yaml")
        >>> s.values["replicaCount"], s.values["podDisruptionBudget"]
        (3, {'enabled': True})
        >>> [(f.check_id, f.severity) for f, _, _ in s.introduced][0]
        ('startup-probe-missing', 'warning')
    """
    started = time.perf_counter()
    namespace = namespace or "default"
    release_given, release = release is not None, release or RELEASE
    prof = with_kube_version(load_profile(profile), kube_version)
    facts = chart_facts(chart)
    start = build_sets((), [str(f) for f in files])[0]
    if start.error is not None:
        raise start.error
    sets: dict[str, Any] = {}
    for expr in set_values:
        sets = merge_values(sets, parse_set(expr))
    budget = Budget(max_renders)
    with Renderer(facts.path, release, namespace, helm_kube_version(prof.kube_version),
                  jobs=jobs, progress=progress, api_versions=prof.served(api_versions)) as renderer:
        prover = _Prover(facts, prof, start.overrides, sets, renderer, budget, namespace,
                         progress)
        first = prover.render({})
        if first.error:
            raise first.output.exception  # type: ignore[misc]
        first.analysis = _load(first.output.text, prof, namespace, facts.path, renderer.crds)
        first.failing = failures(first.analysis)
        prov = provenance(ValueSet("start", list(map(str, files)), overrides=prover.values({})),
                          facts, prover.merged({}), first.analysis, first.output, renderer,
                          budget)
        hard = {h.field: h for h in hardcoded(prov, first.analysis, first.output, facts.path)}
        prover.search(first, prov, hard)
        # The override as a file says it, parsed back (comments change no value), rendered and
        # checked as a whole: that is the checklist reported.
        written = dump_values(prover.state.override, {}, set(), facts.values_file.lines)
        final = prover.render(_parsed(written, "the suggested values"))
        if final.error:  # what was rendered before renders again: never, unless a bug
            raise RenderError(f"the suggested values do not render: {final.error}")
        after = _load(final.output.text, prof, namespace, facts.path, renderer.crds)
        result = _summary(facts, prof, release, namespace, files, set_values, prover, first,
                          after, budget)
        result.renders, result.api_versions = renderer.renders, list(renderer.api_versions)
        result.warnings = render_warnings(facts.path, renderer)
    result.release_given = release_given
    result.release_keys = [k for step in prover.steps for c in step.candidates
                           for k, v in c.values if _names(v, release)]
    result.seconds = time.perf_counter() - started
    return result


TrialOutcome = Literal["clean", "introduces", "removes", "error", "nothing"]  # of a candidate


class _Prover:
    def __init__(self, facts: ChartFacts, profile: Profile, files: dict[str, Any],
                 sets: dict[str, Any],
                 renderer: Renderer, budget: Budget, namespace: str,
                 progress: TextIO | None):
        self.facts, self.profile, self.files, self.sets = facts, profile, files, sets
        self.renderer, self.budget, self.namespace = renderer, budget, namespace
        self.progress = progress
        self.steps: list[Step] = []
        self.attempts: dict[tuple, list[str]] = {}  # failure → what was tried, in words
        self.unreached: dict[tuple, Unreached] = {}
        self.not_tried: list[str] = []
        self.unexplored: list[str] = []  # provenance probes that did not render
        self.skipped: set[tuple] = set()  # failures whose candidates the budget left untried
        self.in_template: dict[tuple, Unreached] = {}  # failures no values key reaches
        self.state: Trial
        self._tried: set[tuple[str, str]] = set()
        self._known: list[tuple[str, ...]] | None = None

    def values(self, override: dict[str, Any]) -> dict[str, Any]:
        """helm order: the user's files, the suggestion, then the --set expressions."""
        return merge_values(merge_values(self.files, override), self.sets)

    def merged(self, override: dict[str, Any]) -> dict[str, Any]:
        """As the templates see them: coalesced with the chart defaults (null deletes)."""
        return _coalesce(merge_values(self.facts.defaults, self.values(override)))

    def render(self, override: dict[str, Any]) -> Trial:
        return self.render_many([override])[0]

    def render_many(self, overrides: list[dict[str, Any]], label: str = "") -> list[Trial]:
        outputs = self.renderer.render_many([self.values(o) for o in overrides], label)
        return [Trial(o, out) for o, out in zip(overrides, outputs, strict=True)]

    def check(self, trials: list[Trial], label: str) -> None:
        """The findings of each trial's render (its objects checked as parsed)."""
        show = self.progress if label and len(trials) >= 8 else None
        with Progress(show, label, len(trials)) as bar:
            for t in trials:
                if t.error is None and t.analysis is None:
                    t.analysis = _check(t.output, self.profile, self.namespace, self.renderer.crds)
                    t.failing = failures(t.analysis)
                bar.advance()

    def context(self, trial: Trial, prov: Provenance | None = None,
                hard: dict[Field, Hardcoded] | None = None) -> Context:
        merged = self.merged(trial.override)
        if self._known is None:
            self._known = known_keys(self.facts, merged)
        return Context(self.facts, self.profile, merged, trial.analysis, self._known,
                       prov, hard or {})

    # --- the rounds -------------------------------------------------------------------------

    def search(self, first: Trial, prov: Provenance, hard: dict[Field, Hardcoded]) -> None:
        self.state, self.unexplored = first, list(prov.unexplored)
        ctx = self.context(first, prov, hard)
        self.in_template = {k: u for k, f in first.failing.items()
                            if (u := ctx.in_template(f)) is not None}
        for n in range(1, MAX_ROUNDS + 1):
            ctx = self.context(self.state, prov, hard)
            made, unreached = candidates(list(self.state.failing.values()), ctx)
            self.unreached.update(unreached)
            made = [c for c in made if (_digest(self.state.override), c.digest)
                    not in self._tried]
            made = self._afford(made, f"round {n}")
            if not made:
                return
            trials = self._try(made, self.state, f"suggest: round {n}")
            kept, partial = [], []
            for c, t in zip(made, trials, strict=True):
                outcome = self._judge(c, t, self.state)
                if outcome == "clean":
                    kept.append(([c], t))
                elif outcome == "introduces":
                    partial.append((c, t))
            kept += self._pairs(partial, ctx, n)
            if kept and self._keep(kept):
                continue
            if not self._trade_off(partial):
                return

    def _afford(self, made: list[Candidate], what: str) -> list[Candidate]:
        room = max(0, self.budget.limit - self.budget.used)
        for c in made[room:]:
            self.not_tried.append(f"{what}: {c.shows()} (--max-renders)")
            self.skipped.update(c.targets)
        self.budget.used += min(room, len(made))
        return made[:room]

    def _try(self, made: list[Candidate], state: Trial, label: str) -> list[Trial]:
        overrides = [_apply(state.override, c) for c in made]
        trials = self.render_many(overrides, label)
        self.check(trials, label)
        for c in made:
            self._tried.add((_digest(state.override), c.digest))
        return trials

    def _judge(self, c: Candidate, t: Trial, state: Trial, partner: Candidate | None = None
               ) -> TrialOutcome:
        """What the candidate's trial did, noted for its targets too. Removing a workload or a
        container removes its failures: that fixes nothing."""
        tried = c.shows() + (f" with {partner.shows()}" if partner else "")
        if t.error is not None:
            self._note(c, f"{tried}: does not render ({t.error})")
            return "error"
        gone = _present(state.analysis) - _present(t.analysis)
        if gone:
            self._note(c, f"{tried}: removes {', '.join(sorted(gone))}")
            return "removes"
        fixed = [k for k in c.targets if k in state.failing and k not in t.failing]
        introduced = [f for k, f in t.failing.items() if k not in state.failing]
        if not fixed:
            self._note(c, f"{tried}: does not fix it" + (f" ({c.note})" if c.note else ""))
            return "nothing"
        if introduced:
            self._note(c, f"{tried}: introduces " + ", ".join(
                f"{f.check_id} ({f.where()})" for f in introduced))
            return "introduces"
        return "clean"

    def _note(self, c: Candidate, text: str) -> None:
        for k in c.targets:
            self.attempts.setdefault(k, []).append(text)

    def _pairs(self, partial: list[tuple[Candidate, Trial]], ctx: Context,
               n: int) -> list[tuple[list[Candidate], Trial]]:
        """Each candidate that introduces failures, with a candidate for what it introduced."""
        pairs: list[tuple[Candidate, Candidate]] = []
        for c, t in partial:
            introduced = [f for k, f in t.failing.items() if k not in self.state.failing]
            partners, unreached = candidates(introduced, self.context(t))
            pairs += [(c, p) for p in partners if not set(p.keys) & set(c.keys)]
            for f in introduced:  # why no values resolve what it introduces
                if (u := unreached.get(f.key)) is not None and u.kind == "template":
                    self._note(c, f"{c.shows()}: values cannot resolve the {f.check_id} it "
                                  f"introduces ({u.reason})")
        both = [Candidate((*c.values, *p.values), c.targets, c.why) for c, p in pairs]
        both = self._afford(both, f"round {n}, pairs")
        trials = self._try(both, self.state, f"suggest: round {n}, pairs")
        return [([c, p], t) for (c, p), t in zip(pairs, trials, strict=False)
                if self._judge(c, t, self.state, p) == "clean"]

    def _keep(self, kept: list[tuple[list[Candidate], Trial]]) -> bool:
        """Apply what the round proved, together if together it still does what each did.
        Competing groups (anti-affinity through `affinity` or `topologySpreadConstraints`) are
        taken in one order whatever the order they were made in: the most severe failure
        fixed, then the most failures fixed, then the values themselves."""
        chosen, covered, keys = [], set(), set()
        for group, t in sorted(kept, key=lambda gt: self._merit(*gt)):
            fixed = {k for k in self.state.failing if k not in t.failing}
            mine = {k for c in group for k in c.keys}
            if fixed <= covered or mine & keys:
                continue
            chosen.append((group, t, fixed))
            covered |= fixed
            keys |= mine
        if not chosen:
            return False
        override = self.state.override
        for group, _, _ in chosen:
            for c in group:
                override = _apply(override, c)
        together = self.render(override)
        self.check([together], "")
        if together.error is None and covered <= set(self.state.failing) - set(together.failing) \
                and not set(together.failing) - set(self.state.failing) \
                and not _present(self.state.analysis) - _present(together.analysis):
            for group, _, fixed in chosen:
                self._step(group, fixed, [])
            self.state = together
            return True
        progressed = False
        for group, _, _ in chosen:  # one by one, each on top of the last
            override = self.state.override
            for c in group:
                override = _apply(override, c)
            t = self.render(override)
            self.check([t], "")
            if self._judge(group[0], t, self.state, group[1] if len(group) > 1 else None) \
                    == "clean":
                self._step(group, {k for k in self.state.failing if k not in t.failing}, [])
                self.state, progressed = t, True
        return progressed

    def _merit(self, group: list[Candidate], t: Trial) -> tuple[int, int, str]:
        fixed = [f for k, f in self.state.failing.items() if k not in t.failing]
        return (-max((rank(f.severity) for f in fixed), default=0), -len(fixed),
                "|".join(c.digest for c in group))

    def _trade_off(self, partial: list[tuple[Candidate, Trial]]) -> bool:
        """Accept the first candidate that fixes something more severe than all it introduces."""
        for c, t in sorted(partial, key=lambda ct: self._merit([ct[0]], ct[1])):
            fixed = [f for k, f in self.state.failing.items() if k not in t.failing]
            introduced = [f for k, f in t.failing.items() if k not in self.state.failing]
            if max(map(lambda f: rank(f.severity), fixed)) > \
                    max(map(lambda f: rank(f.severity), introduced)):
                self._step([c], {f.key for f in fixed}, introduced)
                self.state = t
                return True
        return False

    def _step(self, group: list[Candidate], fixed: set[tuple], introduced: list[Failure]
              ) -> None:
        self.steps.append(Step(group, [self.state.failing[k] for k in self.state.failing
                                       if k in fixed], introduced))


def _names(value: Any, release: str) -> bool:
    """Whether a value holds the release name (a selector copied from the render names it): the
    same value rendered under another release would not match it."""
    if isinstance(value, dict):
        return any(_names(k, release) or _names(v, release) for k, v in value.items())
    if isinstance(value, list):
        return any(_names(v, release) for v in value)
    return isinstance(value, str) and release in value


def _present(a: Analysis) -> set[str]:
    """The workloads and containers of an analysis, as "Kind/name" and "Kind/name [container]"."""
    return {a.index.label(w) + suffix for w in a.index.workloads
            for suffix in ("", *(f" [{c.name}]" for c in w.containers))}


def _apply(override: dict[str, Any], c: Candidate) -> dict[str, Any]:
    return c.apply(override)


def _digest(values: dict[str, Any]) -> str:
    return values_digest(values)


def _coalesce(values: Any) -> Any:
    """Helm's coalescing: a null removes the key."""
    if isinstance(values, dict):
        return {k: _coalesce(v) for k, v in values.items() if v is not None}
    return values


def _parsed(text: str, name: str) -> dict[str, Any]:
    return parse_values(text, name) or {}


def _check(out: Output, profile: Profile, namespace: str,
           crds: Sequence[Resource] = ()) -> Analysis:
    """The analysis of a render's parsed objects (no second parse; lines unknown); `crds`:
    the chart's crds/ (Renderer.crds)."""
    manifests = Manifests(resources=[Resource(obj, Source("<suggest>", n, 1, ident[0]))
                                     for n, (ident, obj) in enumerate(out.objects.items())],
                          crds=list(crds))
    place(manifests, namespace)
    return Analysis.of(manifests, profile=profile)


def _load(text: str, profile: Profile, namespace: str, chart: Path,
          crds: Sequence[Resource] = ()) -> Analysis:
    manifests = load(Text(f"<rendered {shown(chart)}>", text), namespace=namespace)
    manifests.crds = list(crds)
    return Analysis.of(manifests, profile=profile)


def _summary(facts: ChartFacts, prof: Profile, release: str, namespace: str,
             files: Sequence[str], set_values: Sequence[str], prover: _Prover, first: Trial,
             after: Analysis,
             budget: Budget) -> Suggestion:
    """What `after` shows against the start: fixed (by which keys), still failing (why), and
    introduced (by which keys, and what would resolve it)."""
    end = failures(after)
    by = {f.key: step for step in prover.steps for f in step.fixed}
    fixed = [(f, by[k].keys if k in by else []) for k, f in first.failing.items()
             if k not in end]
    caused = {f.key: step for step in prover.steps for f in step.introduced}
    introduced = [(f, caused[k].keys if k in caused else [],
                   _resolve(prover.unreached.get(k), f)) for k, f in end.items()
                  if k not in first.failing]
    remaining = [(f, _why(prover, f)) for k, f in end.items() if k in first.failing]
    return Suggestion(facts.path, facts.name, facts.version, prof.name, prof.kube_version,
                      release, namespace, list(map(str, files)), list(set_values),
                      prover.state.override, prover.steps, first.analysis, after, fixed,
                      remaining, introduced, 0, budget.limit,
                      [*budget.skipped, *prover.unexplored, *prover.not_tried], 0.0,
                      {**{k: c.line for k, c in facts.commented.items()},
                       **facts.values_file.lines})


def _resolve(u: Unreached | None, f: Failure) -> str:
    if u is not None:
        return u.reason + (f" ({u.template})" if u.template else "")

    check = catalogue().get(f.check_id)
    return check.remediation if check is not None else ""


def _why(prover: _Prover, f: Failure) -> Unreached:
    """Why a failure is still there: what was tried, else why nothing was."""
    tried = prover.attempts.get(f.key)
    reason = prover.in_template.get(f.key) or prover.unreached.get(f.key)
    if tried:
        text = "tried " + "; ".join(dict.fromkeys(tried))
        if reason is not None and reason.kind == "template":
            return Unreached(f"{reason.reason} ({text})", "template", reason.template)
        return Unreached(text, "rejected")
    if reason is not None:
        return reason
    if f.key in prover.skipped:
        return Unreached("not tried: the --max-renders budget ran out", "budget")
    return Unreached("no values key is known to change it", "template")
