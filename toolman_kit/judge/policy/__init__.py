"""Policies in CEL, evaluated as the Kubernetes API server would (issue 20).

`cel` holds the engine and the Kubernetes CEL environment; each Kubernetes library the engine does
not provide is one module beside it (`lists`, `regex`). Nothing here is imported by `check` unless
policies are given: the engine is the optional extra `policy`.
"""

# A policy check's row about the pods a workload's controller creates starts with these words
# (checks._on_pods); the reports tell them from rows about the workload itself by it.
ON_PODS = ("its pods", "admitted, but its pods")


def on_pods(message: str) -> bool:
    """Whether a policy check's row message is about the workload's pods."""
    return message.startswith(ON_PODS)
