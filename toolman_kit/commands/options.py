"""The command-line options, each defined once: a command that takes an option gets it from here,
so it means the same and reads the same in every command's --help (tests/test_commands.py keeps
them so). `-j` is the one whose help differs by design: each command says what runs in parallel.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from toolman_kit.atomic import open_atomic
from toolman_kit.chart.sandbox import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, limits_set
from toolman_kit.config import NAME as CONFIG_NAME
from toolman_kit.config import Config, discover, load_config
from toolman_kit.errors import ToolmanKitError
from toolman_kit.exits import FAIL_ON
from toolman_kit.judge.apis import DEFAULT_KUBE_VERSION

PROFILE = "production"
RELEASE = "release-name"  # helm template's own default (chart/render.py's RELEASE)
DEPRECATED_VALUES = ("toolman-kit: warning: --values NAME=FILE is deprecated; "
                     "use --value-set NAME=FILE")


def add_paths(p: argparse.ArgumentParser, *, stdin: bool) -> None:
    """The manifests to read: files and directories (and '-' where standard input is read)."""
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="rendered manifest files or directories"
                        + (", '-' for standard input" if stdin else ""))


def add_chart(p: argparse.ArgumentParser, *, required: bool = False,
              value_sets: bool = False) -> None:
    """--chart and what its rendering takes: -f/--values, --set, --release, -n/--namespace; with
    `value_sets`, --value-set too (and --values NAME=FILE, its old spelling, still works)."""
    p.add_argument("--chart", metavar="CHART", required=required,
                   help="the Helm chart to render: a directory, a packaged chart (.tgz), an "
                        "http(s) URL of one, oci://REGISTRY/PATH/NAME[:TAG], or a chart NAME "
                        "with --repo")
    p.add_argument("--repo", metavar="URL",
                   help="the chart repository (its index.yaml) that --chart NAME is taken "
                        "from, as helm --repo (default: none: --chart names a directory, a "
                        "file or a URL)")
    p.add_argument("--version", dest="chart_version", metavar="VERSION",
                   help="the chart version for --repo and oci://, or a range as Helm reads it "
                        "(^1.2, ~1.2.3, '>=1.0 <2', 1.2.x): the newest match (default: the "
                        "newest release)")
    add_offline(p)
    p.add_argument("--plain-http", action="store_true",
                   help="reach OCI registries over plain HTTP, as helm --plain-http (default: "
                        "HTTPS, except on the loopback address)")
    p.add_argument("-f", "--values", action=_ValuesFile if value_sets else "append", default=[],
                   metavar="FILE",
                   help="a values file for --chart, as helm -f (repeatable, later wins)")
    if value_sets:
        p.add_argument("--value-set", action="append", default=[], dest="value_sets",
                       metavar="NAME=FILE",
                       help="a named value set, compared with the chart's defaults (always the "
                            "first set, `defaults`); repeat NAME to give a set several files "
                            "(later wins); -f and --set apply to every set, after its own files "
                            "(formerly --values NAME=FILE)")
    p.add_argument("--set", action="append", default=[], metavar="K=V", dest="set_values",
                   help="a value for --chart, as helm --set (repeatable; applied after the "
                        "values files, so it wins)")
    p.add_argument("--release", metavar="NAME",
                   help=f"the release name for --chart (default: {RELEASE})")
    p.add_argument("-n", "--namespace",
                   help="the release namespace, where objects that name none are placed "
                        "(default: a chart renders into helm's `default`; manifests: the one "
                        "namespace they name, else `(release)`)")


def add_offline(p: argparse.ArgumentParser) -> None:
    p.add_argument("--offline", action="store_true",
                   help="never touch the network: charts and their dependencies come from the "
                        "cache ($XDG_CACHE_HOME/toolman-kit/charts) or fail saying what is "
                        "missing")


@contextmanager
def chart_source(args: argparse.Namespace) -> Iterator[None]:
    """--offline and --plain-http for the command's duration (in the environment: they reach
    the processes the command starts), and --chart made a local directory (chart/sources/): a
    packaged, downloaded or registry chart is fetched and verified once, with the subcharts that
    -f/--set enable.
    `check` fetches subcharts as it renders: a chart that cannot render is an input error there,
    reported beside the other inputs (check.manifests_from)."""
    from toolman_kit.chart.sandbox import environment
    from toolman_kit.chart.sources import ENV_OFFLINE, ENV_PLAIN_HTTP

    with environment({ENV_OFFLINE: "1" if getattr(args, "offline", False) else None,
                      ENV_PLAIN_HTTP: "1" if getattr(args, "plain_http", False) else None}):
        if getattr(args, "chart", None):
            from toolman_kit.chart import sources
            from toolman_kit.chart.render import prepare, read_values_file

            if args.command == "check":
                if sources.is_remote(args.chart, args.repo) or args.chart_version:
                    args.chart = str(sources.resolve(args.chart, args.repo,
                                                     args.chart_version).path)
            else:
                args.chart = str(prepare(args.chart, args.repo, args.chart_version, None,
                                         value_sets=_value_texts(args, read_values_file)))
        yield


def _value_texts(args: argparse.Namespace, read: Any) -> list[tuple[list[str], list[str]]]:
    """Every value set a command renders, as (files' texts, --set expressions): the chart
    defaults with -f, each --value-set and --baseline-values with -f after its own files."""
    shared = [str(f) for f in getattr(args, "values", None) or ()]
    expressions = list(getattr(args, "set_values", None) or ())
    sets = [shared]
    sets += [[*files, *shared] for _, files in parse_value_sets(
        getattr(args, "value_sets", None) or ())]
    if getattr(args, "baseline_values", None):
        sets.append([*map(str, args.baseline_values), *shared])
    out = [([read(f) for f in shared], expressions)]  # a shared file unread: nothing renders
    for files in sets[1:]:
        try:
            out.append(([read(f) for f in files], expressions))
        except ToolmanKitError:  # that set's error, said by the command beside the others'
            continue
    return out


class Default(str):
    """A default that argparse filled in, not a value given on the command line: the
    configuration file may replace it (apply_config). Help texts read it as the plain string."""


def add_profile(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default=Default(PROFILE),
                   help=f"built-in profile name or profile YAML file (default: {PROFILE})")


def add_peer_exemptions(p: argparse.ArgumentParser) -> None:
    p.add_argument("--peer-exemptions", action="store_true",
                   help="also honour Polaris', kube-score's, checkov's and kube-linter's exemption "
                        "annotations for the checks that mean the same (docs/checks.md; profile "
                        "key peer_exemptions)")


def add_config(p: argparse.ArgumentParser) -> None:
    """--config FILE and --no-config: every command has both (commands/__init__.py)."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--config", metavar="FILE",
                       help=f"the configuration file (default: the nearest {CONFIG_NAME} from "
                            "the working directory up to the repository root); flags given "
                            "here win over it")
    group.add_argument("--no-config", action="store_true",
                       help="read no configuration file")


# What a configuration file's profile keys add to the named profile (see apply_config).
PROFILE_KEYS = ("peer_exemptions", "allow_annotation_exemptions", "exemptions",
                "namespace_labels", "policies")


def profile_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags that set a profile key (--peer-exemptions, --namespace-labels): like the
    configuration file's keys they make a derived profile, so every command — and a report's
    kernels, which load profiles by path — judges with them."""
    flags: dict[str, Any] = {}
    if getattr(args, "peer_exemptions", False):
        flags["peer_exemptions"] = True
    if getattr(args, "namespace_labels", None):
        flags["namespace_labels"] = dict(args.namespace_labels)
    if getattr(args, "policies", None):  # absolute: the derived profile lives elsewhere
        flags["policies"] = [str(Path(p).resolve()) for p in args.policies]
    return flags


def add_policy(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", metavar="PATH", dest="policies", action="append", default=[],
                   help="an admission policy file or directory, repeatable: "
                        "ValidatingAdmissionPolicy (with its bindings and params), Kyverno "
                        "ValidatingPolicy or ClusterPolicy/Policy CEL rules, evaluated as "
                        "checks policy/<name> on the objects and their controllers' pods "
                        "(profile key policies; needs toolman-kit[policy]; default: none)")


def add_namespace_labels(p: argparse.ArgumentParser) -> None:
    p.add_argument("--namespace-labels", metavar="KEY=VALUE", nargs="+", action="extend",
                   type=_label, default=[],
                   help="a label every namespace of the target cluster carries besides those "
                        "of the Namespaces in the manifests, e.g. pod-security.kubernetes.io/"
                        "enforce=restricted, for Pod Security admission and policies' "
                        "namespaceSelector (profile key namespace_labels; default: none)")


def _label(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"not KEY=VALUE: {text!r}")
    return key.strip(), value.strip()


@contextmanager
def apply_config(args: argparse.Namespace) -> Iterator[None]:
    """The configuration file's defaults into `args`, once, for the command's duration: what the
    command line gave wins. `format` and `fail_on` are check's (--fail-on is batch's too); the
    profile keys make a profile derived from the named one (a file: report's kernels load
    profiles by path), as report --peer-exemptions does. The file in use is named on stderr."""
    path = None if args.no_config else args.config or discover()
    config = load_config(path) if path else None
    args.config_path = str(path) if path else None
    values = config.values if config else {}
    if config:
        print(f"toolman-kit: configuration: {path}", file=sys.stderr)
    if getattr(args, "kube_version", "") is None:
        args.kube_version = values.get("kube_version")
    if getattr(args, "api_versions", None) == []:
        args.api_versions = list(values.get("api_versions", ()))
    if isinstance(getattr(args, "fail_on", None), Default):
        args.fail_on = values.get("fail_on", args.fail_on)
    if args.command == "check" and isinstance(args.format, Default):  # other commands'
        args.format = values.get("format", args.format)  # formats are not check's
    if not hasattr(args, "profile"):
        yield
        return
    if isinstance(args.profile, Default):
        args.profile = (_relative_to(config, values["profile"]) if "profile" in values  # type: ignore[arg-type]
                        else getattr(args, "default_profile", lambda _: PROFILE)(args))
    derived = {**{k: values[k] for k in PROFILE_KEYS if k in values}, **profile_flags(args)}
    if config and "policies" in values:  # relative to the configuration file, flags' added
        derived["policies"] = [*(str((config.path.parent / p).resolve())
                                 for p in values["policies"]),
                               *profile_flags(args).get("policies", ())]
    if not derived:
        yield
        return
    from toolman_kit.judge.profiles import derived as derived_from

    with derived_from(args.profile, derived) as args.profile:
        yield


def _relative_to(config: Config, profile: str) -> str:
    from toolman_kit.judge.profiles import BUILT_IN

    return profile if profile in BUILT_IN else str(config.path.parent / profile)


def add_kube_version(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kube-version", metavar="V",
                   help="target Kubernetes version, e.g. 1.29: apiVersions it no longer serves "
                        "are errors, and charts render with it as .Capabilities.KubeVersion "
                        f"(default: the profile's, else {DEFAULT_KUBE_VERSION})")


def add_api_versions(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--api-versions", metavar="GROUP/VERSION[/KIND]", action="extend",
                   type=_api_versions, default=[],
                   help="an API the target cluster serves besides the built-ins of "
                        "--kube-version and the chart's CRDs, for .Capabilities.APIVersions, "
                        "as Helm's -a (repeatable, or comma-separated; default: none)")


def _api_versions(text: str) -> list[str]:
    from toolman_kit.chart.capabilities import api_version

    try:
        return [api_version(a) for a in text.split(",") if a.strip()]
    except ToolmanKitError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_format(p: argparse.ArgumentParser, choices: Sequence[str], default: str) -> None:
    p.add_argument("--format", choices=choices, default=Default(default),
                   help="output format: %(choices)s (default: %(default)s)")


def add_output(p: argparse.ArgumentParser) -> None:
    """-o FILE: see `emit`."""
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write to this file, atomically (default: standard output)")


def add_out_dir(p: argparse.ArgumentParser) -> None:
    """--out DIR, where a report or a fleet's reports go (-o is one file)."""
    p.add_argument("--out", metavar="DIR",
                   help="output directory (default: reports/NAME, NAME the input's: the chart, "
                        "the first manifest or the fleet file)")


def add_fail_on(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fail-on", choices=tuple(FAIL_ON), default=Default("error"),
                   help="exit 1 when a finding has this severity or worse: %(choices)s "
                        "(default: %(default)s)")


def add_baseline(p: argparse.ArgumentParser) -> None:
    p.add_argument("--baseline", metavar="FILE",
                   help="a previous `check --format json` output, a report's findings.json or "
                        "the kit's SARIF: findings in it are known and do not fail the run "
                        "(--fail-on applies to the new ones); matched by check, object and "
                        "container, not by line")


def add_max_renders(p: argparse.ArgumentParser) -> None:
    """The default is chart.values.DEFAULT_MAX_RENDERS, written out: the chart's values machinery
    is imported on first use, not to build the parser (a test keeps the two the same)."""
    p.add_argument("--max-renders", type=int, metavar="N",
                   help="bound on the renders that explore the chart's values (default: 1000); "
                        "what it leaves out is listed")


def add_max_bytes(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-bytes", type=size, default=DEFAULT_MAX_BYTES, metavar="SIZE",
                   help="refuse manifest inputs and chart renders larger than this (e.g. 200M; "
                        "default: 512M)")


def add_render_timeout(p: argparse.ArgumentParser) -> None:
    """--render-timeout, and --max-bytes for what a render prints: a chart is untrusted input
    (chart/sandbox.py)."""
    p.add_argument("--render-timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="stop a chart render that takes longer than this: the chart is an "
                        f"input error (default: {DEFAULT_TIMEOUT:g})")


def render_limits(args: argparse.Namespace) -> Any:
    """The command's render bounds, for its duration (in the environment: they reach the
    processes it starts)."""
    return limits_set(getattr(args, "render_timeout", None), getattr(args, "max_bytes", None))


def size(text: str) -> int:
    match = re.fullmatch(r"(\d+)([KMG]?)", text.strip(), re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1048576, 200M, 1G)")
    return int(match[1]) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[match[2].upper()]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r} (e.g. 60, 2.5)")
    return value


def add_jobs(p: argparse.ArgumentParser, what: str) -> None:
    """-j N: how many `what` run in parallel, which depends on the command (README: Usage)."""
    p.add_argument("-j", "--jobs", type=int, metavar="N",
                   help=f"how many {what} run in parallel (default: the CPU count)")


def add_render_bounds(p: argparse.ArgumentParser) -> None:
    """--render-timeout and --max-bytes: every command that renders a chart has both."""
    add_render_timeout(p)
    add_max_bytes(p)


def add_exploration(p: argparse.ArgumentParser) -> None:
    """--max-renders and -j: the commands that render one chart many times (compare, suggest)."""
    add_max_renders(p)
    add_jobs(p, "render processes")


def need_chart(args: argparse.Namespace) -> None:
    """-f, --set and --release are for rendering a chart: without --chart they would be ignored,
    so they are an error instead."""
    if args.chart:
        return
    for flag, given in (("-f/--values", args.values), ("--set", args.set_values),
                        ("--release", args.release), ("--repo", args.repo),
                        ("--version", args.chart_version)):
        if given:
            raise ToolmanKitError(f"{flag} needs --chart DIR: it applies to rendering a chart")


def parse_value_sets(specs: Sequence[str]) -> list[tuple[str, list[str]]]:
    """`--value-set NAME=FILE …` → [(name, files)] in first-seen order; a NAME given again adds
    a file to its set (later files win, as with helm -f)."""
    from toolman_kit.chart.values import DEFAULTS  # the chart side, imported on first use

    sets: dict[str, list[str]] = {}
    for spec in specs:
        name, eq, file = spec.partition("=")
        if not eq or not name.strip() or not file:
            raise ToolmanKitError("--value-set needs NAME=FILE (e.g. production=values-prod.yaml),"
                                  f" got {spec!r}")
        if name.strip() == DEFAULTS:
            raise ToolmanKitError(f"--value-set {spec!r}: the name {DEFAULTS!r} is the chart's "
                                  "own defaults, always compared first; choose another name")
        sets.setdefault(name.strip(), []).append(file)
    return list(sets.items())


def emit(text: str, output: str | None) -> None:
    """`text` to the -o file (atomically), or to standard output."""
    if output:
        with output_file(output) as out:
            out.write(text)
    else:
        sys.stdout.write(text)


@contextmanager
def output_file(path: str) -> Iterator[TextIO]:
    """The -o file, written atomically; a file-system error (a read-only directory, a full
    disk, a directory of that name) is one line naming the file: exit 2, not a traceback and
    exit 1, which for `check` means findings."""
    try:
        with open_atomic(path) as out:
            yield out
    except OSError as exc:
        where = exc.filename and Path(exc.filename)
        what = exc.strerror or str(exc)
        if isinstance(exc, FileExistsError):  # mkdir of a parent that is a file
            what = "Not a directory"
        detail = f" ({where})" if where and where.parent != Path(path).parent else ""
        raise ToolmanKitError(f"cannot write the output: {what}{detail}", path) from None


class _ValuesFile(argparse.Action):
    """-f/--values FILE where value sets are compared. `--values NAME=FILE`, the old spelling of
    --value-set, is still a named set (a NAME has no '/', and an existing file named `a=b.yaml`
    is a file), with a warning; -f never was one."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 value: Any, option_string: str | None = None) -> None:
        name, eq, file = str(value).partition("=")
        if (option_string == "--values" and eq and name and file and "/" not in name
                and not Path(value).exists()):
            if not getattr(namespace, "warned_values", False):  # once, not once per set
                print(DEPRECATED_VALUES, file=sys.stderr)
                namespace.warned_values = True
            namespace.value_sets = [*namespace.value_sets, value]
        else:
            namespace.values = [*namespace.values, value]
