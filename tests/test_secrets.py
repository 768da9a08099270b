"""No value given to a chart leaves the kit: a marker planted through `--set`, a `-f` file, a
values.schema.json failure, a rendered Secret and a ConfigMap holding a credential is searched
for in every output file, the terminal and TMPDIR of check, compare, suggest, report and batch.

The markers are searched as written and base64-encoded (a Secret's `data` holds them so).
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import make_chart

from toolman_kit.chart.redact import (
    REDACTED,
    helm_message,
    mask_secrets,
    redact_set,
    set_strings,
)
from toolman_kit.present.report.scratch import owned_prefix, sweep

pytest.importorskip("helm_python")

SET = "MarkSetQ7xK"  # --set password=…
SET_TOKEN = "MarkSetTokQ7xK"  # --set apiToken=…, overriding the -f file's: the comparison's `by`
FILE = "MarkFileQ7xK"  # apiToken in a -f file: rendered into a Secret's data (base64)
CONFIG = "MarkConfigQ7xK"  # dbPassword in a -f file: rendered into a ConfigMap
SCHEMA = "MarkSchemaQ7xK"  # pin, which values.schema.json refuses
MARKERS = (SET, SET_TOKEN, FILE, CONFIG, SCHEMA)

TEMPLATES = {
    "deployment.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: vault}
        spec:
          replicas: {{ .Values.replicaCount }}
          selector: {matchLabels: {app: vault}}
          template:
            metadata: {labels: {app: vault}}
            spec:
              containers:
                - name: vault
                  image: vault:1.2.3
                  env:
                    - {name: PASSWORD, value: {{ .Values.password | quote }}}
        """,
    "secret.yaml": """\
        apiVersion: v1
        kind: Secret
        metadata: {name: vault}
        stringData:
          password: {{ .Values.password | quote }}
        data:
          token: {{ .Values.apiToken | b64enc }}
        """,
    "configmap.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: vault}
        data:
          db_password: {{ .Values.dbPassword | quote }}
        """,
}
VALUES = 'replicaCount: 1\npassword: ""\napiToken: ""\ndbPassword: ""\npin: "0000"\n'
SCHEMA_JSON = {"type": "object", "properties": {
    "pin": {"type": "string", "pattern": "^[0-9]{4}$"}, "replicaCount": {"type": "integer"}}}


def _forms(marker: str) -> tuple[str, ...]:
    return marker, base64.b64encode(marker.encode()).decode()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict]:
    chart = make_chart(tmp_path / "vault", TEMPLATES, VALUES)
    (chart / "values.schema.json").write_text(json.dumps(SCHEMA_JSON))
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(f"apiToken: {FILE}\ndbPassword: {CONFIG}\nreplicaCount: 3\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"pin: {SCHEMA}\n")
    # Short: a kernel's socket path must fit in 107 bytes, and tmp_path is long.
    tmp = Path(tempfile.mkdtemp(prefix="tk-test-"))
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    yield {"chart": chart, "secrets": secrets, "bad": bad, "tmp": tmp, "out": out, "env": env,
           "root": tmp_path}
    shutil.rmtree(tmp, ignore_errors=True)


def kit(world: dict, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolman_kit", *argv], capture_output=True,
                          text=True, env=world["env"], timeout=timeout, check=False)


def leaks(*texts: str, dirs: tuple[Path, ...] = ()) -> list[str]:
    """Where a marker shows up: in the texts given, or in a file under `dirs`."""
    found = [f"output {i}: {m}" for i, t in enumerate(texts) for marker in MARKERS
             for m in _forms(marker) if m in t]
    for d in dirs:
        for f in (p for p in d.rglob("*") if p.is_file() and not p.is_symlink()):
            data = f.read_bytes()
            found += [f"{f}: {m}" for marker in MARKERS for m in _forms(marker)
                      if m.encode() in data]
    return found


# --- the pieces --------------------------------------------------------------------------------

def test_a_set_expression_is_shown_as_its_keys() -> None:
    assert redact_set("password=S3cret") == f"password={REDACTED}"
    assert redact_set(r"a.b=x\,y,l={1,2},m.n[0]=z") == \
        f"a.b={REDACTED},l={REDACTED},m.n[0]={REDACTED}"
    assert redact_set("nokey") == "nokey"
    assert set_strings("a=S3cret,l={one,two}") == ["S3cret", "{one,two}", "one", "two"]


def test_helm_schema_messages_name_the_key_and_the_rule() -> None:
    said = ("values don't meet the specifications of the schema(s) in the following chart(s):\n"
            "c:\n- at '/db/password': maxLength: got 15, want 5\n"
            "- at '/db/password': 'S3cretValue' does not match pattern '^[a-z]+$'\n"
            "- at '/port': got string, want integer\n- at '/mode': value must be 'x'\n"
            "- at '/tier': value must be one of 'a', 'b'\n- at '': missing property 'pin'\n")
    assert helm_message(said).splitlines()[2:] == [
        "db.password: is longer than 5 characters;",
        "db.password: does not match the schema's pattern;",
        "port: got string, want integer;", "mode: is not the schema's constant value;",
        "tier: is not one of the schema's allowed values;",
        "(top level): missing property 'pin';"]


def test_stored_manifests_mask_secret_values_and_keep_the_rest() -> None:
    text = ("---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\n"
            "metadata: {name: x}\ndata: {a: \"1\"}\n"
            "---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\n"
            "metadata: {name: s}\nstringData: {password: S3cretValue}\ndata: {t: UzNjcmV0}\n")
    masked = mask_secrets(text)
    assert "S3cretValue" not in masked and "UzNjcmV0" not in masked
    assert masked.startswith(text.split("---\n# Source: c/templates/s.yaml")[0])  # kept as is
    assert "# Source: c/templates/s.yaml" in masked and "<redacted sha256:" in masked
    assert mask_secrets(text.replace("S3cretValue", "Other")) != masked  # a change still shows


def test_stored_manifests_mask_credentials_the_checks_still_flag() -> None:
    """ConfigMap entries and env values named like a credential are masked too, and the
    masked manifests fail the same credential checks (they are the next run's baseline)."""
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
            "data: {db_password: S3cretValue, level: debug}\n---\n"
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            "    - {name: a, image: a:1, env: [{name: API_TOKEN, value: S3cretValue}]}\n")
    masked = mask_secrets(text)
    assert "S3cretValue" not in masked and "level: debug" in masked

    def failing(manifests: str) -> set[str]:
        from toolman_kit import analyze

        df = analyze(manifests)
        return set(df[df.status == "fail"].check_id)

    assert {"secret-in-configmap", "secret-in-env-value"} <= failing(masked) == failing(text)


def test_sweep_removes_only_dead_owners_directories(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    stale_prefix = owned_prefix("tk-report-").replace(str(os.getpid()), str(pid), 1)
    stale = tmp_path / f"{stale_prefix}abc"
    (stale / "sub").mkdir(parents=True)
    (stale / "inputs.pickle").write_text("secret")
    mine = tmp_path / f"{owned_prefix('tk-report-')}def"
    mine.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("keep")
    link = tmp_path / f"{stale_prefix}lnk"
    link.symlink_to(victim)
    (stale / "link").symlink_to(victim)  # inside: removed as a link, never followed
    planted = tmp_path / f"{stale_prefix}file"
    planted.write_text("not ours to delete")
    other = tmp_path / "tk-report-notours"
    other.mkdir()

    assert sweep(tmp_path, "tk-report-") == [stale]
    assert not stale.exists() and mine.is_dir() and link.is_symlink() and planted.is_file()
    assert (victim / "keep").read_text() == "keep" and other.is_dir()


# --- the commands ------------------------------------------------------------------------------

def test_check_echoes_no_value_in_any_format(world: dict) -> None:
    chart, secrets, out = str(world["chart"]), str(world["secrets"]), world["out"]
    for fmt in ("table", "json", "csv", "markdown", "sarif", "junit"):
        done = kit(world, "check", "--chart", chart, "-f", secrets, "--set",
                   f"password={SET},apiToken={SET_TOKEN}", "--format", fmt, "-o",
                   str(out / f"check.{fmt}"))
        assert done.returncode == 1, done.stderr  # findings: the credential checks fail
        assert not leaks(done.stdout, done.stderr), fmt
    findings = json.loads((out / "check.json").read_text())
    assert f"--set password={REDACTED},apiToken={REDACTED}" in findings["inputs"][0]
    assert "secret-in-configmap" in {f["check_id"] for f in findings["findings"]
                                     if f["status"] == "fail"}
    assert not leaks(dirs=(out, world["tmp"]))


def test_a_schema_failure_names_the_key_and_the_rule(world: dict) -> None:
    for given in (["--set", f"pin={SCHEMA}"], ["-f", str(world["bad"])]):
        done = kit(world, "check", "--chart", str(world["chart"]), *given)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].endswith(f"{world['chart']}: values don't meet the specifications of the "
                                 "schema(s) in the following chart(s): demo: pin: does not "
                                 "match the schema's pattern"), lines[0]
        assert "Traceback" not in done.stderr and not leaks(done.stdout, done.stderr)


def test_compare_echoes_no_value(world: dict) -> None:
    out = world["out"]
    for fmt in ("json", "markdown", "table"):
        done = kit(world, "compare", "--chart", str(world["chart"]), "--value-set",
                   f"prod={world['secrets']}", "--value-set", f"bad={world['bad']}",
                   "--set", f"password={SET},apiToken={SET_TOKEN}", "--format", fmt,
                   "-o", str(out / f"compare.{fmt}"), "--max-renders", "40", "-j", "1")
        assert done.returncode in (0, 1, 2), done.stderr
        assert "Traceback" not in done.stderr and not leaks(done.stdout, done.stderr), fmt
    doc = json.loads((out / "compare.json").read_text())
    prod = next(s for s in doc["sets"] if s["name"] == "prod")
    assert {"file": str(world["secrets"]), "by": f"--set password={REDACTED},"
            f"apiToken={REDACTED}"}.items() <= next(
        i for i in prod["ineffective_values"] if i["key"] == "apiToken").items()
    bad = json.dumps(next(s for s in doc["sets"] if s["name"] == "bad"))
    assert "pin: does not match the schema's pattern" in bad
    assert not leaks(dirs=(out, world["tmp"]))


def test_suggest_echoes_no_value(world: dict) -> None:
    out = world["out"]
    for fmt in ("yaml", "json", "markdown"):
        done = kit(world, "suggest", "--chart", str(world["chart"]), "-f", str(world["secrets"]),
                   "--set", f"password={SET}", "--format", fmt, "-o", str(out / f"s.{fmt}"),
                   "--max-renders", "40", "-j", "1")
        assert done.returncode == 0, done.stderr
        assert not leaks(done.stdout, done.stderr), fmt
    assert f"password={REDACTED}" in (out / "s.yaml").read_text()  # in "Use: helm upgrade …"
    assert json.loads((out / "s.json").read_text())["start"]["set"] == [f"password={REDACTED}"]
    assert not leaks(dirs=(out, world["tmp"]))


@pytest.mark.slow
def test_report_echoes_no_value_and_sweeps_a_killed_reports_files(world: dict) -> None:
    """A report killed with SIGKILL leaves its private files; the next one removes them."""
    argv = ["report", "--chart", str(world["chart"]), "-f", str(world["secrets"]), "--set",
            f"password={SET},apiToken={SET_TOKEN}", "-j", "1"]
    killed = subprocess.Popen([sys.executable, "-m", "toolman_kit", *argv, "--out",
                               str(world["out"] / "killed")], env=world["env"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    # Killed once its analyses are shared and its kernel is up: a kernel still booting when
    # its report dies writes its connection file after the sweep (the next report's sweep
    # takes it).
    while not (list(world["tmp"].glob("tk-report-*/inputs.pickle"))
               and list(world["tmp"].glob("tk-kernels-*/k1-*"))):
        assert time.monotonic() < deadline and killed.poll() is None
        time.sleep(0.2)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    left = {p.name for p in world["tmp"].iterdir()}
    assert any(n.startswith("tk-report-") for n in left), left

    report = world["out"] / "report"
    done = kit(world, *argv, "--out", str(report), timeout=600)
    assert done.returncode == 0, done.stderr
    assert not [p for p in world["tmp"].iterdir() if p.name.startswith("tk-")]
    assert "--set password=&lt;redacted&gt;" in (report / "index.html").read_text()
    assert not leaks(done.stdout, done.stderr, dirs=(report, world["tmp"]))


@pytest.mark.slow
def test_batch_stores_masked_manifests_privately_and_echoes_no_value(world: dict) -> None:
    fleet = world["root"] / "fleet.yaml"
    fleet.write_text(f"targets:\n"
                     f"  - {{name: vault, chart: {world['chart']}, values: [{world['secrets']}]}}\n"
                     f"  - {{name: broken, chart: {world['chart']}, values: [{world['bad']}]}}\n")
    out = world["out"] / "fleet"
    done = kit(world, "batch", str(fleet), "--out", str(out), "-j", "1", timeout=600)
    assert done.returncode == 2, done.stderr  # a failed target
    assert not leaks(done.stdout, done.stderr, dirs=(out, world["tmp"]))
    history = (out / "history.csv").read_text()
    assert "pin: does not match the schema's pattern" in history
    assert "pin: does not match the schema's pattern" in (out / "summary.json").read_text()
    stored = next(out.glob("vault/*/inputs/vault-*.yaml"))
    assert stored.stat().st_mode & 0o777 == 0o600
    assert stored.parent.stat().st_mode & 0o777 == 0o700
    umask = os.umask(0)
    os.umask(umask)
    assert stored.parent.parent.stat().st_mode & 0o777 == 0o777 & ~umask  # publishable
    assert "<redacted sha256:" in stored.read_text()
