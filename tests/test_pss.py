"""Pod Security Standards levels (toolman_kit.judge.pss)."""

from toolman_kit.analysis import Analysis
from toolman_kit.judge.pss import PodSecurity, pod_security, pod_security_frame

RESTRICTED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {type: RuntimeDefault}
      initContainers:
        - name: migrate
          image: registry.example.com/migrate:3.2.0
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
      containers:
        - name: web
          image: nginx:1.27.0
          ports: [{containerPort: 8080}]
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
          volumeMounts: [{name: tmp, mountPath: /tmp}, {name: config, mountPath: /etc/web}]
      volumes:
        - {name: tmp, emptyDir: {}}
        - {name: config, configMap: {name: web}}
"""


def _one(text: str) -> PodSecurity:
    [result] = pod_security(Analysis.of(text).index)
    return result


def _controls(result: PodSecurity, level: str | None = None) -> set[str]:
    return {v["control"] for v in result.violations if level in (None, v["level"])}


def _replace(old: str, new: str) -> str:
    assert old in RESTRICTED
    return RESTRICTED.replace(old, new)


def test_restricted_pod():
    result = _one(RESTRICTED)
    assert (result.kind, result.namespace, result.name) == ("Deployment", "shop", "web")
    assert result.level == "restricted" and result.violations == []


def test_baseline_pod_missing_seccomp_and_run_as_non_root():
    text = _replace("        runAsNonRoot: true\n        runAsUser: 10001\n"
                    "        seccompProfile: {type: RuntimeDefault}\n", "        fsGroup: 2000\n")
    result = _one(text)
    assert result.level == "baseline"
    assert _controls(result) == {"Seccomp", "Running as Non-root"}
    assert _controls(result, "baseline") == set()
    details = {v["detail"] for v in result.violations}
    assert "container web: seccompProfile.type not set" in details
    assert "container migrate: runAsNonRoot not set" in details


def test_privileged_pod():
    text = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ops}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostNetwork: true
      containers:
        - name: agent
          image: registry.example.com/agent:2.4.1
          securityContext: {privileged: true}
          volumeMounts: [{name: sock, mountPath: /var/run/docker.sock}]
      volumes:
        - {name: sock, hostPath: {path: /var/run/docker.sock}}
"""
    result = _one(text)
    assert result.level == "privileged"
    assert {"Privileged Containers", "HostPath Volumes", "Host Namespaces"} <= \
        _controls(result, "baseline")
    assert "Volume Types" in _controls(result, "restricted")
    assert {"control": "Host Namespaces", "level": "baseline", "detail": "hostNetwork: true"} \
        in result.violations


def test_container_overrides_pod_run_as_non_root():
    text = _replace("            capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}\n",
                    "            capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}\n"
                    "            runAsNonRoot: false\n")
    result = _one(text)
    assert result.level == "baseline"
    assert result.violations == [{"control": "Running as Non-root", "level": "restricted",
                                  "detail": "container web: runAsNonRoot false"}]


def test_capability_names_are_matched_as_admission_does():
    # Runtimes accept CAP_CHOWN and `drop: [all]`; Pod Security admission does not.
    text = _replace("add: [NET_BIND_SERVICE]", "add: [CAP_NET_BIND_SERVICE]")
    result = _one(text)
    assert result.level == "privileged"
    assert _controls(result, "baseline") == {"Capabilities"}
    result = _one(_replace("capabilities: {drop: [ALL]}", "capabilities: {drop: [all]}"))
    assert result.level == "baseline"
    assert result.violations == [{"control": "Capabilities", "level": "restricted",
                                  "detail": "container migrate: capabilities.drop lacks ALL"}]


def test_ephemeral_containers_and_run_as_user_zero():
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: app
      image: registry.example.com/app:1.0.0
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
  ephemeralContainers:
    - name: debugger
      image: busybox:1.36.1
      securityContext: {runAsUser: 0, capabilities: {add: [SYS_PTRACE]}}
"""
    result = _one(text)
    assert result.level == "privileged"
    details = {v["detail"] for v in result.violations}
    assert {"container debugger: adds SYS_PTRACE", "container debugger: runAsUser 0",
            "container debugger: allowPrivilegeEscalation is not false"} <= details


def test_other_baseline_controls():
    text = """\
apiVersion: v1
kind: Pod
metadata:
  name: odd
  annotations:
    container.apparmor.security.beta.kubernetes.io/app: unconfined
spec:
  securityContext:
    sysctls: [{name: net.ipv4.tcp_syncookies, value: "1"}, {name: kernel.msgmax, value: "65536"}]
    seLinuxOptions: {type: spc_t}
  containers:
    - name: app
      image: registry.example.com/app:1.0.0
      ports: [{containerPort: 8080, hostPort: 8080}]
      securityContext:
        procMount: Unmasked
        seccompProfile: {type: Unconfined}
        windowsOptions: {hostProcess: true}
"""
    result = _one(text)
    assert result.level == "privileged"
    assert _controls(result, "baseline") == {
        "HostProcess", "Host Ports", "AppArmor", "SELinux", "/proc Mount Type", "Seccomp",
        "Sysctls"}
    assert "sysctl kernel.msgmax" in {v["detail"] for v in result.violations}


def test_windows_pods_are_exempt_from_linux_only_controls():
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: win}
spec:
  os: {name: windows}
  securityContext: {runAsNonRoot: true}
  containers:
    - name: app
      image: mcr.microsoft.com/windows/servercore:ltsc2022
"""
    assert _one(text).level == "restricted"


def test_frame():
    df = pod_security_frame(Analysis.of(RESTRICTED).index)
    assert list(df.columns) == ["kind", "namespace", "name", "level", "violations"]
    assert df.iloc[0]["level"] == "restricted" and df.iloc[0]["violations"] == []
    empty = pod_security_frame(Analysis.of("apiVersion: v1\nkind: ConfigMap\n"
                                           "metadata: {name: c}\n").index)
    assert empty.empty and list(empty.columns) == list(df.columns)
