"""Policies in CEL, evaluated as the Kubernetes API server would (issue 20).

`cel` holds the engine and the Kubernetes CEL environment; each Kubernetes library the engine does
not provide is one module beside it (`lists`, `regex`). Nothing here is imported by `check` unless
policies are given: the engine is the optional extra `policy`.
"""
