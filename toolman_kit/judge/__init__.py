"""Typed objects + a profile → verdicts: the check catalogue (registry, checks/), the engine that
runs it into findings, the checklist, Pod Security Standards levels and the profiles."""
