"""Charts from anywhere (chart/sources/): packaged charts, HTTP chart repositories, archive URLs
and OCI registries, against real servers the tests start on 127.0.0.1 — a small http.server
repository and Debian's docker-registry (the CNCF Distribution registry) — and bad archives,
each one line."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import re
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import make_chart, run

import toolman_kit as tk
from toolman_kit.chart.sources import archive, oci, semver
from toolman_kit.chart.sources.http import is_loopback
from toolman_kit.errors import FetchError

CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Chart.Name }}-{{ .Chart.Version | replace "." "-" }}
data: {a: b}
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache and Helm configuration of this test's own (none of the user's)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HELM_REPOSITORY_CONFIG", str(tmp_path / "helm" / "repositories.yaml"))
    monkeypatch.setenv("HELM_REGISTRY_CONFIG", str(tmp_path / "helm" / "config.json"))
    for name in ("TOOLMAN_KIT_REPO_USERNAME", "TOOLMAN_KIT_REPO_PASSWORD", "TOOLMAN_KIT_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


def package(root: Path, name: str = "demo", version: str = "0.1.0",
            chart_yaml: str | None = None, templates: dict[str, str] | None = None) -> bytes:
    """A chart packaged as `helm package` does (a .tgz with NAME/ at the top)."""
    chart = make_chart(root / f"{name}-{version}" / name, {"cm.yaml": CM, **(templates or {})},
                       chart_yaml=chart_yaml or f"apiVersion: v2\nname: {name}\n"
                                                f"version: {version}\n")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        tar.add(chart, arcname=name)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Repo:
    """An HTTP chart repository on 127.0.0.1: index.yaml and archives in a directory; with
    `login`, Basic authentication is required."""

    def __init__(self, root: Path, login: tuple[str, str] | None = None):
        self.root, self.entries = root, {}
        expected = "Basic " + base64.b64encode(":".join(login).encode()).decode() \
            if login else None
        directory = str(root)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **k):  # type: ignore[no-untyped-def]
                super().__init__(*a, directory=directory, **k)

            def do_GET(self) -> None:  # noqa: N802
                if expected and self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="charts"')
                    self.end_headers()
                    return
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, data: bytes, name: str, version: str, digest: str | None = None) -> None:
        (self.root / f"{name}-{version}.tgz").write_bytes(data)
        self.entries.setdefault(name, []).append(
            {"name": name, "version": version, "urls": [f"{name}-{version}.tgz"],
             "digest": digest or sha256(data), "apiVersion": "v2"})
        (self.root / "index.yaml").write_text(json.dumps({"apiVersion": "v1",
                                                          "entries": self.entries}))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    (tmp_path / "repo").mkdir()
    server = Repo(tmp_path / "repo")
    for version in ("1.0.0", "1.2.0", "1.3.1", "2.0.0", "2.1.0-rc.1"):
        server.add(package(tmp_path / "src", "demo", version), "demo", version)
    yield server
    server.stop()


def names(rendered: tk.Rendered) -> list[str]:
    return [line.split(": ", 1)[1] for line in rendered.text.splitlines()
            if line.startswith("  name: ")]


# --- versions --------------------------------------------------------------------------------

@pytest.mark.parametrize(("range_text", "chosen"), [
    ("^1.2", "1.3.1"), ("~1.2.0", "1.2.0"), (">=1.0 <2", "1.3.1"), ("1.2.x", "1.2.0"),
    ("1.x", "1.3.1"), ("*", "2.0.0"), ("2.0.0", "2.0.0"), (">=2.1.0-rc.0", "2.1.0-rc.1"),
    (">1.2", "2.0.0"), ("<=1.2", "1.2.0"), ("1.0 - 1.2", "1.2.0"), ("^1.2 || ^2", "2.0.0"),
    ("^3", None), ("^0.1", None),
])
def test_a_range_picks_the_newest_match_and_prereleases_only_when_named(
        range_text: str, chosen: str | None) -> None:
    versions = [semver.Version.parse(v) for v in ("1.0.0", "1.2.0", "1.3.1", "2.0.0",
                                                   "2.1.0-rc.1")]
    found = semver.newest([v for v in versions if v], range_text)
    assert (found.text if found else None) == chosen


def test_caret_on_zero_versions_keeps_the_leftmost_nonzero_part() -> None:
    versions = [v for t in ("0.1.0", "0.1.9", "0.2.0", "0.0.3", "0.0.4")
                if (v := semver.Version.parse(t))]
    assert semver.newest(versions, "^0.1.0").text == "0.1.9"  # type: ignore[union-attr]
    assert semver.newest(versions, "^0.0.3").text == "0.0.3"  # type: ignore[union-attr]
    with pytest.raises(semver.RangeError):
        semver.matches(">=banana")


# --- an HTTP chart repository -----------------------------------------------------------------

def test_repo_and_a_range_render_the_newest_match(repo: Repo, sdk: object) -> None:
    assert names(tk.render("demo", repo=repo.url, version="^1.2")) == ["demo-1-3-1"]
    assert names(tk.render("demo", repo=repo.url, version="1.2.0")) == ["demo-1-2-0"]
    assert names(tk.render("demo", repo=repo.url)) == ["demo-2-0-0"]  # no prerelease


def test_cli_repo_version_and_a_url_to_an_archive(repo: Repo, sdk: object,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--chart", "demo", "--repo", repo.url, "--version",
                         "~1.2", "--format", "json")
    assert code in (0, 1), err
    assert {f["name"] for f in json.loads(out)["findings"]} == {"demo-1-2-0"}
    rendered = tk.render(f"{repo.url}/demo-1.3.1.tgz")
    assert names(rendered) == ["demo-1-3-1"]
    assert rendered.chart == f"{repo.url}/demo-1.3.1.tgz"  # as given


def test_a_wrong_digest_and_a_404_are_one_line_each(tmp_path: Path, repo: Repo, sdk: object,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    repo.add(package(tmp_path / "bad", "demo", "3.0.0"), "demo", "3.0.0", digest="0" * 64)
    code, _, err = run(capsys, "check", "--chart", "demo", "--repo", repo.url, "--version",
                       "3.0.0")
    assert code == 2
    assert err.count("\n") == 1 and "digest mismatch: expected sha256:000" in err
    code, _, err = run(capsys, "check", "--chart", f"{repo.url}/nope-1.0.0.tgz")
    assert code == 2
    assert err == (f"toolman-kit: error: {repo.url}/nope-1.0.0.tgz: chart download failed: "
                   "HTTP 404 File not found (no such chart or version)\n")
    code, _, err = run(capsys, "check", "--chart", "nope", "--repo", repo.url)
    assert code == 2 and "no chart 'nope' in the repository's index.yaml" in err
    code, _, err = run(capsys, "check", "--chart", "demo", "--repo", repo.url, "--version",
                       "^9")
    assert code == 2 and "no version of 'demo' matches '^9' (newest: " in err


def test_basic_auth_from_helms_repositories_yaml(tmp_path: Path, sdk: object,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "private").mkdir()
    private = Repo(tmp_path / "private", login=("alice", "s3cret-pw"))
    try:
        private.add(package(tmp_path / "src", "demo", "1.0.0"), "demo", "1.0.0")
        code, _, err = run(capsys, "check", "--chart", "demo", "--repo", private.url)
        assert code == 2 and "HTTP 401" in err and "credentials" in err
        config = tmp_path / "helm" / "repositories.yaml"
        config.parent.mkdir()
        config.write_text(f"apiVersion: v1\nrepositories:\n- name: private\n  url: "
                          f"{private.url}\n  username: alice\n  password: s3cret-pw\n")
        code, out, err = run(capsys, "check", "--chart", "demo", "--repo", private.url)
        assert code in (0, 1), err
        assert "s3cret-pw" not in out + err
        # userinfo in a URL is used, and never shown
        url = private.url.replace("http://", "http://alice:wrong-pw@")
        code, _, err = run(capsys, "check", "--chart", f"{url}/demo-9.tgz")
        assert code == 2 and "HTTP 401" in err
        assert "wrong-pw" not in err and f"{private.url}/demo-9.tgz: " in err
    finally:
        private.stop()


def test_the_environment_credentials_go_to_the_named_host(
        tmp_path: Path, sdk: object, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "private").mkdir()
    private = Repo(tmp_path / "private", login=("bob", "env-pw"))
    try:
        private.add(package(tmp_path / "src", "demo", "1.0.0"), "demo", "1.0.0")
        monkeypatch.setenv("TOOLMAN_KIT_REPO_USERNAME", "bob")
        monkeypatch.setenv("TOOLMAN_KIT_REPO_PASSWORD", "env-pw")
        assert names(tk.render("demo", repo=private.url)) == ["demo-1-0-0"]
    finally:
        private.stop()


def test_offline_reuses_the_cache_and_names_what_is_missing(
        repo: Repo, sdk: object, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--chart", "demo", "--repo", repo.url, "--version",
                       "^1", "--offline")
    assert code == 2
    assert err.count("\n") == 1
    assert "the repository's index.yaml is not in the cache" in err and "--offline" in err
    assert names(tk.render("demo", repo=repo.url, version="^1")) == ["demo-1-3-1"]
    assert names(tk.render(f"{repo.url}/demo-1.0.0.tgz")) == ["demo-1-0-0"]
    repo.stop()  # nothing answers any more
    assert names(tk.render("demo", repo=repo.url, version="^1", offline=True)) == ["demo-1-3-1"]
    assert names(tk.render(f"{repo.url}/demo-1.0.0.tgz", offline=True)) == ["demo-1-0-0"]
    code, _, err = run(capsys, "check", "--chart", "demo", "--repo", repo.url, "--version",
                       "1.2.0", "--offline")
    assert code == 2 and "demo 1.2.0: not in the cache" in err
    with pytest.raises(FetchError, match="repository index failed"):
        tk.render("demo", repo=repo.url, version="^1")  # online, and the server is gone


def test_a_packaged_chart_file(tmp_path: Path, sdk: object) -> None:
    tgz = tmp_path / "demo-0.3.0.tgz"
    tgz.write_bytes(package(tmp_path / "src", "demo", "0.3.0"))
    assert names(tk.render(tgz)) == ["demo-0-3-0"]
    with pytest.raises(FetchError, match="--version applies to --repo and oci://"):
        tk.render(tgz, version="1.0.0")


# --- bad archives ------------------------------------------------------------------------------

def _tar(tmp_path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    out = tmp_path / "bad.tgz"
    with tarfile.open(out, "w:gz") as tar:
        info = tarfile.TarInfo("demo/Chart.yaml")
        body = b"apiVersion: v2\nname: demo\nversion: 0.1.0\n"
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out


def _member(name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(("member", "data", "message"), [
    (_member("demo/../../x"), b"x", "archive entry 'demo/../../x' points outside the chart"),
    (_member("/etc/cron.d/x"), b"x", "archive entry '/etc/cron.d/x' has an absolute path"),
    (_member("demo/link", tarfile.SYMTYPE, "/etc/passwd"), None,
     "archive entry 'demo/link' is a symlink"),
    (_member("demo/hard", tarfile.LNKTYPE, "demo/Chart.yaml"), None,
     "archive entry 'demo/hard' is a hard link"),
    (_member("demo/dev", tarfile.CHRTYPE), None, "archive entry 'demo/dev' is a device file"),
    (_member("demo/fifo", tarfile.FIFOTYPE), None, "archive entry 'demo/fifo' is a FIFO"),
])
def test_an_unsafe_entry_is_one_error_naming_it(tmp_path: Path, member: tarfile.TarInfo,
                                                data: bytes | None, message: str) -> None:
    bad = _tar(tmp_path, (member, data))
    with pytest.raises(FetchError) as caught:
        tk.render(bad)
    assert str(caught.value) == f"{bad}: {message}: refused"
    assert not (tmp_path / "x").exists() and list((tmp_path / "cache").rglob("link")) == []


def test_a_bomb_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_FILES", 50)
    many = _tar(tmp_path, *((_member(f"demo/f{i}"), b"") for i in range(60)))
    with pytest.raises(FetchError, match=r"more than 50 entries \(refused at 'demo/f49'\)"):
        tk.render(many)
    monkeypatch.setattr(archive, "MAX_BYTES", 2**20)
    (tmp_path / "big").mkdir()
    big = _tar(tmp_path / "big", (_member("demo/zeros"), bytes(2**20 + 1)))
    with pytest.raises(FetchError, match=r"unpacks to more than 1 MiB \(refused at "
                                         r"'demo/zeros'\)"):
        tk.render(big)
    (tmp_path / "junk.tgz").write_bytes(b"not gzip at all")
    with pytest.raises(FetchError, match="not a readable .tgz archive"):
        tk.render(tmp_path / "junk.tgz")
    assert not any(p.name.startswith(".unpack-") for p in (tmp_path / "cache").rglob("*"))


# --- dependencies ----------------------------------------------------------------------------

APP = """apiVersion: v2
name: app
version: 0.1.0
dependencies:
  - name: demo
    version: "{range}"
    repository: "{repository}"
    condition: demo.enabled
"""


def _app(root: Path, repository: str, range_text: str = "^1") -> Path:
    return make_chart(root, {"app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                         "  name: app\n"},
                      values="demo:\n  enabled: true\n",
                      chart_yaml=APP.format(range=range_text, repository=repository))


def test_an_enabled_missing_dependency_is_fetched_from_a_file_repository(
        tmp_path: Path, sdk: object) -> None:
    make_chart(tmp_path / "demo", {"cm.yaml": CM})
    app = _app(tmp_path / "app", "file://../demo", "0.1.0")
    assert sorted(names(tk.render(app))) == ["app", "demo-0-1-0"]
    assert not (app / "charts").exists()  # the chart directory is not written to
    assert names(tk.render(app, set_values=["demo.enabled=false"])) == ["app"]


def test_an_enabled_missing_dependency_is_fetched_from_the_http_repository(
        tmp_path: Path, repo: Repo, sdk: object, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path / "app", repo.url)
    (app / "Chart.lock").write_text(f"dependencies:\n- name: demo\n  repository: {repo.url}\n"
                                    "  version: 1.2.0\n")
    code, _, err = run(capsys, "check", "--chart", str(app), "--offline")
    assert code == 2
    (line,) = err.splitlines()
    assert "needs dependencies missing from charts/ (demo, enabled by condition demo.enabled)" \
        ", and demo 1.2.0 cannot be fetched from" in line
    assert line.endswith(f"run `helm dependency build {app}`")
    assert sorted(names(tk.render(app))) == ["app", "demo-1-2-0"]  # as Chart.lock pins
    (app / "Chart.lock").unlink()
    assert sorted(names(tk.render(app))) == ["app", "demo-1-3-1"]  # the newest of ^1
    repo.stop()
    assert sorted(names(tk.render(app, offline=True))) == ["app", "demo-1-3-1"]


# --- an OCI registry ---------------------------------------------------------------------------

REGISTRY = shutil.which("docker-registry")
needs_registry = pytest.mark.skipif(
    REGISTRY is None, reason="Debian's docker-registry package is not installed (.ci/run "
                             "installs it)")
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """docker-registry on 127.0.0.1:<port>, storage in tmp: host:port."""
    yield from _registry(tmp_path)


def _unrecognised_loopback() -> tuple[str, str]:
    """(name, address): a loopback address under a name the kit does not take for loopback —
    the machine's hostname when it resolves into 127.0.0.0/8 (Debian's /etc/hosts), else the
    address 127.0.0.2 (Linux routes all of 127.0.0.0/8 to lo). The registry stays on the
    loopback interface, yet is addressed as a registry elsewhere would be."""
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        address = ""
    if address.startswith("127.") and not is_loopback(name):
        return name, address
    return "127.0.0.2", "127.0.0.2"


@pytest.fixture
def named_registry(tmp_path: Path) -> Iterator[str]:
    """docker-registry on a loopback address the kit does not recognise as one: name:port."""
    name, address = _unrecognised_loopback()
    for where in _registry(tmp_path, bind=address):
        yield where.replace(address, name, 1)


@pytest.fixture
def private_registry(tmp_path: Path) -> Iterator[str]:
    """The same, with Basic authentication (user carol, password reg-pw)."""
    bcrypt = pytest.importorskip("bcrypt", reason="bcrypt makes the registry's htpasswd file")
    path = tmp_path / "htpasswd"
    path.write_bytes(b"carol:" + bcrypt.hashpw(b"reg-pw", bcrypt.gensalt(rounds=4)) + b"\n")
    yield from _registry(tmp_path, path)


def _registry(tmp_path: Path, htpasswd: Path | None = None,
              bind: str = "127.0.0.1") -> Iterator[str]:
    port = _free_port()
    auth = (f"auth:\n  htpasswd:\n    realm: test\n    path: {htpasswd}\n"
            if htpasswd else "")
    config = tmp_path / "registry.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                      f"    rootdirectory: {tmp_path / 'registry'}\n"
                      f"http:\n  addr: {bind}:{port}\n{auth}")
    proc = subprocess.Popen([REGISTRY, "serve", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection((bind, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("docker-registry did not start")
                time.sleep(0.05)
        yield f"{bind}:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _call(method: str, url: str, body: bytes | None = None, headers: dict | None = None,
          login: tuple[str, str] | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if login:
        req.add_header("Authorization",
                       "Basic " + base64.b64encode(":".join(login).encode()).decode())
    with urllib.request.urlopen(req, timeout=10) as answer:
        return answer.status, dict(answer.headers.items())


def push(host: str, name: str, tag: str, chart: bytes,
         login: tuple[str, str] | None = None) -> str:
    """A chart pushed as `helm push` does: config and layer blobs, then the manifest (its
    digest returned)."""
    base = f"http://{host}"
    config = json.dumps({"name": name.rsplit("/", 1)[-1], "version": tag}).encode()
    described = []
    for blob, media in ((config, "application/vnd.cncf.helm.config.v1+json"),
                        (chart, "application/vnd.cncf.helm.chart.content.v1.tar+gzip")):
        digest = "sha256:" + sha256(blob)
        _, headers = _call("POST", f"{base}/v2/{name}/blobs/uploads/", b"", login=login)
        location = headers["Location"]
        location = location if location.startswith("http") else base + location
        joiner = "&" if "?" in location else "?"
        _call("PUT", f"{location}{joiner}digest={digest}", blob,
              {"Content-Type": "application/octet-stream"}, login)
        described.append({"mediaType": media, "digest": digest, "size": len(blob)})
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "config": described[0],
                "layers": [described[1]]}
    body = json.dumps(manifest).encode()
    _call("PUT", f"{base}/v2/{name}/manifests/{tag}", body, {"Content-Type": MANIFEST}, login)
    return "sha256:" + sha256(body)


@needs_registry
def test_an_oci_chart_renders_by_version_tag_and_range(tmp_path: Path, registry: str,
                                                       sdk: object,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    for version in ("0.1.0", "0.2.0"):
        push(registry, "charts/demo", version, package(tmp_path / "src", "demo", version))
    ref = f"oci://{registry}/charts/demo"
    code, out, err = run(capsys, "check", "--chart", ref, "--version", "0.1.0", "--format", "json")
    assert code in (0, 1), err
    assert names(tk.render(f"{ref}:0.2.0")) == ["demo-0-2-0"]
    assert names(tk.render(ref, version="^0.1")) == ["demo-0-1-0"]
    assert names(tk.render(ref)) == ["demo-0-2-0"]
    code, _, err = run(capsys, "check", "--chart", ref, "--version", "9.9.9")
    assert code == 2 and err.count("\n") == 1 and "HTTP 404" in err


@needs_registry
def test_an_oci_chart_is_reused_offline(tmp_path: Path, sdk: object,
                                        request: pytest.FixtureRequest) -> None:
    host = request.getfixturevalue("registry")
    push(host, "charts/demo", "0.1.0", package(tmp_path / "src", "demo", "0.1.0"))
    assert names(tk.render(f"oci://{host}/charts/demo", version="0.1.0")) == ["demo-0-1-0"]
    with pytest.raises(FetchError, match="not in the cache"):
        tk.render(f"oci://{host}/charts/other", version="0.1.0", offline=True)
    assert names(tk.render(f"oci://{host}/charts/demo", version="0.1.0",
                           offline=True)) == ["demo-0-1-0"]


@needs_registry
def test_an_oci_chart_by_its_manifest_digest(tmp_path: Path, registry: str, sdk: object,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    first = push(registry, "charts/demo", "0.1.0", package(tmp_path / "src", "demo", "0.1.0"))
    second = push(registry, "charts/demo", "0.2.0", package(tmp_path / "src", "demo", "0.2.0"))
    ref = f"oci://{registry}/charts/demo@{first}"
    rendered = tk.render(ref)
    assert names(rendered) == ["demo-0-1-0"] and rendered.chart == ref
    code, out, err = run(capsys, "check", "--chart", ref, "--format", "json")
    assert code in (0, 1), err
    assert json.loads(out)["inputs"][0].startswith(
        f"helm template release-name {ref} -n default  # sha256:")
    wrong = f"oci://{registry}/charts/demo@sha256:{'0' * 64}"
    code, _, err = run(capsys, "check", "--chart", wrong)
    assert code == 2 and err.count("\n") == 1
    assert f"/v2/charts/demo/manifests/sha256:{'0' * 64}: {wrong} failed: HTTP 404" in err
    code, _, err = run(capsys, "check", "--chart", ref, "--version", "0.1.0")
    assert code == 2 and "both a digest and --version 0.1.0: give one" in err
    # cached by digest: what was fetched by its digest, or by a tag, is there offline
    assert names(tk.render(ref, offline=True)) == ["demo-0-1-0"]
    with pytest.raises(FetchError, match="not in the cache"):
        tk.render(f"oci://{registry}/charts/demo@{second}", offline=True)
    assert names(tk.render(f"oci://{registry}/charts/demo:0.2.0")) == ["demo-0-2-0"]
    assert names(tk.render(f"oci://{registry}/charts/demo@{second}",
                           offline=True)) == ["demo-0-2-0"]


def test_a_manifest_that_is_not_the_digest_asked_for_is_refused(tmp_path: Path) -> None:
    """A registry (or a proxy before it) answering another manifest than the digest names:
    the layer digest in it is not trusted, one error says so."""
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "layers": [
        {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
         "digest": "sha256:" + "1" * 64, "size": 1}]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", MANIFEST)
            self.end_headers()
            self.wfile.write(manifest)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    asked = "sha256:" + "a" * 64
    ref = f"oci://127.0.0.1:{server.server_address[1]}/charts/demo@{asked}"
    try:
        with pytest.raises(FetchError) as caught:
            tk.render(ref)
    finally:
        server.shutdown()
        server.server_close()
    assert str(caught.value) == (f"{ref}: manifest digest mismatch: asked for {asked}, the "
                                 f"registry answered sha256:{sha256(manifest)} (corrupt or "
                                 "tampered with)")
    assert not list((tmp_path / "cache").rglob("refs/*"))  # nothing remembered


@pytest.mark.parametrize(("ref", "message"), [
    ("oci://r.example/charts/demo@sha256:abc", "@sha256: and 64 lower-case hex digits"),
    (f"oci://r.example/charts/demo:1.0.0@sha256:{'a' * 64}", "both a tag and a digest"),
])
def test_a_bad_digest_reference_is_one_error(ref: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        tk.render(ref)


def test_registries_are_https_but_on_loopback_or_with_plain_http() -> None:
    assert oci.scheme("127.0.0.1:5000") == oci.scheme("localhost") == "http"
    assert oci.scheme("[::1]:5000") == "http"
    assert oci.scheme("registry.example.com") == oci.scheme("10.0.0.7:5000") == "https"
    assert oci.scheme("registry.example.com", plain_http=True) == "http"


@needs_registry
def test_plain_http_reaches_a_registry_that_is_not_on_a_loopback_name(
        tmp_path: Path, named_registry: str, sdk: object,
        capsys: pytest.CaptureFixture[str]) -> None:
    push(named_registry, "charts/demo", "0.1.0", package(tmp_path / "src", "demo", "0.1.0"))
    ref = f"oci://{named_registry}/charts/demo:0.1.0"
    code, _, err = run(capsys, "check", "--chart", ref)
    assert code == 2 and err.count("\n") == 1
    assert f"https://{named_registry}/v2/charts/demo/manifests/0.1.0" in err  # HTTPS: refused
    assert err.endswith("(the registry answers plain HTTP: --plain-http, or a fleet target's "
                        "plain_http: true)\n")
    code, out, err = run(capsys, "check", "--chart", ref, "--plain-http", "--format", "json")
    assert code in (0, 1), err
    assert json.loads(out)["inputs"][0].startswith(f"helm template release-name oci://"
                                                   f"{named_registry}/charts/demo --version")
    assert names(tk.render(ref, plain_http=True)) == ["demo-0-1-0"]


@needs_registry
def test_a_registry_401_and_credentials_from_helms_registry_config(
        tmp_path: Path, private_registry: str, sdk: object,
        capsys: pytest.CaptureFixture[str]) -> None:
    registry = private_registry
    push(registry, "charts/demo", "0.1.0", package(tmp_path / "src", "demo", "0.1.0"),
         login=("carol", "reg-pw"))
    ref = f"oci://{registry}/charts/demo"
    code, _, err = run(capsys, "check", "--chart", ref, "--version", "0.1.0")
    assert code == 2
    assert err == (f"toolman-kit: error: {ref}:0.1.0: registry answered HTTP 401 Unauthorized "
                   "(no credentials for this registry: see README, Charts from anywhere)\n")
    config = tmp_path / "helm" / "config.json"
    config.parent.mkdir(exist_ok=True)
    config.write_text(json.dumps({"auths": {registry: {
        "auth": base64.b64encode(b"carol:reg-pw").decode()}}}))
    code, out, err = run(capsys, "check", "--chart", ref, "--version", "0.1.0")
    assert code in (0, 1), err
    assert "reg-pw" not in out + err


# --- fleet targets -------------------------------------------------------------------------------

def test_a_fleet_target_names_a_repository_chart_and_its_digest_is_in_the_input_hash(
        tmp_path: Path) -> None:
    from toolman_kit.fleet.fleetfile import load_fleet
    from toolman_kit.fleet.task import input_hash

    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("targets:\n- name: ingress\n  chart: ingress-nginx\n"
                     "  repo: https://charts.example.com/ingress-nginx\n  version: ^4.15\n"
                     "- name: oci\n  chart: oci://registry.example.com/charts/app:1.0.0\n"
                     "  plain_http: true\n"
                     "- name: local\n  chart: charts/app\n")
    ingress, oci_target, local = load_fleet(fleet).targets
    assert (ingress.chart, ingress.repo, ingress.version) == (
        "ingress-nginx", "https://charts.example.com/ingress-nginx", "^4.15")
    assert oci_target.chart == "oci://registry.example.com/charts/app:1.0.0"
    assert oci_target.plain_http and not ingress.plain_http
    assert local.chart == str(tmp_path / "charts" / "app")
    assert input_hash(ingress, "x", "sha256:aa") != input_hash(ingress, "x", "sha256:bb")
    fleet.write_text("targets:\n- name: bad\n  paths: [x]\n  repo: https://r.example.com\n")
    with pytest.raises(tk.ToolmanKitError,
                       match="`repo`, `version` and `plain_http` go with `chart`"):
        load_fleet(fleet)


# --- what outputs call a fetched chart ---------------------------------------------------------

WEB = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:latest
"""


def _no_cache_path(text: str, tmp_path: Path) -> None:
    assert str(tmp_path / "cache") not in text and "sha256-" not in text


def test_check_names_a_repository_chart_by_reference_and_digest(
        tmp_path: Path, repo: Repo, sdk: object, capsys: pytest.CaptureFixture[str]) -> None:
    digest = "sha256:" + sha256((repo.root / "demo-1.2.0.tgz").read_bytes())
    code, out, err = run(capsys, "check", "--chart", "demo", "--repo", repo.url, "--version",
                         "~1.2", "--format", "json")
    assert code in (0, 1), err
    doc = json.loads(out)
    assert doc["inputs"] == [f"helm template release-name demo --repo {repo.url} --version "
                             f"1.2.0 -n default  # {digest}"]
    assert {f["file"] for f in doc["findings"]} == {f"<rendered demo 1.2.0 from {repo.url}>"}
    assert {f["template"] for f in doc["findings"]} == {"demo/templates/cm.yaml"}
    _no_cache_path(out + err, tmp_path)
    repo.add(package(tmp_path / "web", "demo", "4.0.0", templates={"web.yaml": WEB}), "demo",
             "4.0.0")
    code, out, err = run(capsys, "check", "--chart", f"{repo.url}/demo-4.0.0.tgz")
    assert code == 1, err
    assert f"Deployment/release-name-web: 1 replica(s) (spec.replicas); the profile needs 3  " \
        f"(<rendered {repo.url}/demo-4.0.0.tgz>:" in out
    _no_cache_path(out + err, tmp_path)


def test_credentials_never_name_the_chart(tmp_path: Path, sdk: object,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "private").mkdir()
    private = Repo(tmp_path / "private", login=("alice", "s3cret-pw"))
    try:
        private.add(package(tmp_path / "src", "demo", "1.0.0"), "demo", "1.0.0")
        url = private.url.replace("http://", "http://alice:s3cret-pw@")
        code, out, err = run(capsys, "check", "--chart", f"{url}/demo-1.0.0.tgz",
                             "--format", "json")
        assert code in (0, 1), err
        assert "s3cret-pw" not in out + err and "alice" not in out
        assert json.loads(out)["inputs"][0].startswith(
            f"helm template release-name {private.url}/demo-1.0.0.tgz -n default  # sha256:")
    finally:
        private.stop()


def test_compare_names_the_chart_by_reference_and_digest(
        tmp_path: Path, repo: Repo, sdk: object, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "prod.yaml").write_text("a: 1\n")
    code, out, err = run(capsys, "compare", "--chart", "demo", "--repo", repo.url,
                         "--version", "1.0.0", "--value-set", f"prod={tmp_path / 'prod.yaml'}",
                         "--format", "json")
    assert code == 0, err
    chart = json.loads(out)["chart"]
    assert chart["path"] == f"demo 1.0.0 from {repo.url}"
    assert chart["digest"] == "sha256:" + sha256((repo.root / "demo-1.0.0.tgz").read_bytes())
    _no_cache_path(out + err, tmp_path)
    code, out, err = run(capsys, "compare", "--chart", "demo", "--repo", repo.url,
                         "--version", "1.0.0")
    assert code == 0, err
    assert f"(demo 1.0.0 from {repo.url} sha256:" in out
    _no_cache_path(out + err, tmp_path)


@needs_registry
def test_check_names_an_oci_chart_by_reference(tmp_path: Path, registry: str, sdk: object,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    push(registry, "charts/demo", "0.1.0", package(tmp_path / "src", "demo", "0.1.0"))
    code, out, err = run(capsys, "check", "--chart", f"oci://{registry}/charts/demo",
                         "--version", "0.1.0", "--format", "json")
    assert code in (0, 1), err
    doc = json.loads(out)
    assert doc["inputs"][0].startswith(f"helm template release-name oci://{registry}/charts/"
                                       "demo --version 0.1.0 -n default  # sha256:")
    assert {f["file"] for f in doc["findings"]} == {
        f"<rendered oci://{registry}/charts/demo:0.1.0>"}
    _no_cache_path(out + err, tmp_path)


def test_two_references_to_one_archive_keep_their_own_names(tmp_path: Path, repo: Repo,
                                                            sdk: object) -> None:
    by_range = tk.render("demo", repo=repo.url, version="^1")
    by_url = tk.render(f"{repo.url}/demo-1.3.1.tgz")
    assert by_range.chart == f"demo 1.3.1 from {repo.url}"
    assert by_url.chart == f"{repo.url}/demo-1.3.1.tgz"
    assert by_range.digest == by_url.digest != None  # noqa: E711
    assert by_range.directory != by_url.directory


@pytest.mark.slow
def test_a_report_names_a_fetched_chart_and_its_templates(
        tmp_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.add(package(tmp_path / "web", "demo", "4.0.0", templates={"web.yaml": WEB}), "demo",
             "4.0.0")
    out = tmp_path / "report"
    code, _, err = run(capsys, "report", "--chart", "demo", "--repo", repo.url, "--version",
                       "4.0.0", "--out", str(out), "--jobs", "1")
    assert code == 0, err
    digest = "sha256:" + sha256((repo.root / "demo-4.0.0.tgz").read_bytes())
    pages = {p.name: p.read_text() for p in out.rglob("*") if p.suffix in (".html", ".md",
                                                                           ".json")}
    index = pages["index.html"]
    assert f"demo --repo {repo.url} --version 4.0.0 -n default  # {digest}" in index
    assert re.search(r"templates/web\.yaml:\d+", pages["05_values.html"])  # as a directory's
    for text in pages.values():
        _no_cache_path(text, tmp_path)


def test_a_value_set_that_enables_a_missing_subchart_fetches_it(
        tmp_path: Path, repo: Repo, sdk: object, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path / "app", repo.url, "~1.2")
    (app / "values.yaml").write_text("demo:\n  enabled: false\n")
    on = tmp_path / "on.yaml"
    on.write_text("demo:\n  enabled: true\n")
    code, out, err = run(capsys, "compare", "--chart", str(app), "--value-set", f"on={on}",
                         "--format", "json")
    assert code == 0, err
    on_set = json.loads(out)["sets"][1]
    assert on_set["name"] == "on" and not on_set["errors"]
    assert [(o["kind"], o["name"]) for o in on_set["added"]] == [("ConfigMap", "demo-1-2-0")]
    assert json.loads(out)["chart"]["path"] == str(app)  # not the copy with the subchart
    assert not (app / "charts").exists()
    code, out, err = run(capsys, "suggest", "--chart", str(app), "-f", str(on),
                         "--format", "json")
    assert code == 0, err
    assert json.loads(out)["chart"]["path"] == str(app)


@pytest.mark.slow
def test_a_fleet_of_repository_charts_runs_and_reruns_offline(
        tmp_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    fleet, out = tmp_path / "fleet.yaml", tmp_path / "out"
    fleet.write_text(f"targets:\n- name: ranged\n  chart: demo\n  repo: {repo.url}\n"
                     f"  version: ^1\n- name: url\n  chart: {repo.url}/demo-1.0.0.tgz\n")
    code, _, err = run(capsys, "batch", str(fleet), "--out", str(out), "-j", "1",
                       "--fail-on", "never")
    assert code == 0, err
    digest = "sha256:" + sha256((repo.root / "demo-1.3.1.tgz").read_bytes())
    charts = {t["target"]: t["chart"]
              for t in json.loads((out / "summary.json").read_text())["targets"]}
    assert charts["ranged"] == f"demo 1.3.1 from {repo.url} ({digest})"
    assert charts["url"].startswith(f"{repo.url}/demo-1.0.0.tgz (sha256:")
    page = (out / "index.html").read_text()
    assert f"demo 1.3.1 from {repo.url} ({digest})" in page
    _no_cache_path(page + (out / "summary.json").read_text(), tmp_path)
    repo.stop()  # nothing answers any more: --offline runs from the cache
    code, _, err = run(capsys, "batch", str(fleet), "--out", str(out), "-j", "1",
                       "--fail-on", "never", "--offline", "--force")
    assert code == 0, err
    statuses = {t["target"]: t["status"]
                for t in json.loads((out / "summary.json").read_text())["targets"]}
    assert statuses == {"ranged": "ok", "url": "ok"}
    code, _, err = run(capsys, "batch", str(fleet), "--out", str(out), "-j", "1", "--force")
    assert code == 2 and "repository index failed" in (out / "summary.json").read_text()


@pytest.mark.slow
@needs_registry
def test_a_fleet_of_oci_charts_by_tag_and_by_digest(
        tmp_path: Path, registry: str, named_registry: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Through `batch`: a tag on the loopback registry, a digest on one that needs plain_http;
    the chart's digest is in the input hash, so a tag pushed again with other bytes (that
    render the same) redoes its target, and the digest-pinned one stays unchanged."""
    push(registry, "charts/demo", "0.1.0", package(tmp_path / "a", "demo", "0.1.0"))
    pinned = push(named_registry, "charts/demo", "0.2.0", package(tmp_path / "b", "demo", "0.2.0"))
    fleet, out = tmp_path / "fleet.yaml", tmp_path / "out"
    fleet.write_text(f"targets:\n- name: tagged\n  chart: oci://{registry}/charts/demo:0.1.0\n"
                     f"- name: pinned\n  chart: oci://{named_registry}/charts/demo@{pinned}\n"
                     "  plain_http: true\n")

    def batch() -> dict[str, dict]:
        code, _, err = run(capsys, "batch", str(fleet), "--out", str(out), "-j", "1",
                           "--fail-on", "never")
        assert code == 0, err
        return {t["target"]: t for t in json.loads((out / "summary.json").read_text())["targets"]}

    first = batch()
    assert {t: first[t]["status"] for t in first} == {"tagged": "ok", "pinned": "ok"}
    layer = re.compile(r" \(sha256:[0-9a-f]{64}\)$")
    assert layer.sub("", first["tagged"]["chart"]) == f"oci://{registry}/charts/demo:0.1.0"
    assert layer.sub("", first["pinned"]["chart"]) == f"oci://{named_registry}/charts/demo@{pinned}"
    _no_cache_path((out / "index.html").read_text(), tmp_path)
    push(registry, "charts/demo", "0.1.0", package(
        tmp_path / "c", "demo", "0.1.0",
        chart_yaml="apiVersion: v2\nname: demo\nversion: 0.1.0\ndescription: again\n"))
    second = batch()
    assert {t: second[t]["status"] for t in second} == {"tagged": "ok", "pinned": "unchanged"}
    assert second["tagged"]["chart"] != first["tagged"]["chart"]  # the new archive's digest
    history = (out / "history.csv").read_text().splitlines()
    hashes = [row.split(",") for row in history[1:] if ",tagged," in row]
    assert len(hashes) == 2 and len({*(r[history[0].split(",").index("input_hash")]
                                       for r in hashes)}) == 2

