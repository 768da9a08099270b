"""Findings: one row per (check, object, container) examined, as a pandas DataFrame.

`status` is fail, pass, skip or exempt, so "what was checked" and a score come for free and
`df.query("status == 'fail'")` is the problem list. The output formats are small functions of
this frame (see formats.py).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd


class Status(StrEnum):
    FAIL = "fail"
    PASS = "pass"
    SKIP = "skip"
    EXEMPT = "exempt"


COLUMNS = ("check_id", "area", "severity", "status", "kind", "namespace", "name", "container",
           "message", "remediation", "path", "file", "line", "template", "values_set",
           "exempt_reason")
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
STATUS_ORDER = {"fail": 0, "exempt": 1, "skip": 2, "pass": 3}


def frame(rows: list[tuple]) -> pd.DataFrame:
    """The findings frame from row tuples in COLUMNS order: problems first, most severe first,
    and otherwise in the order of the manifests (one stable sort on one small integer key)."""
    df = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    df["line"] = df["line"].astype("Int64")
    if len(df):
        rank = df["status"].map(STATUS_ORDER).to_numpy() * 10 + \
            df["severity"].map(SEVERITY_ORDER).to_numpy()
        df = df.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    return df


def problems(findings: pd.DataFrame) -> pd.DataFrame:
    """The rows that need action: failures, most severe first."""
    return findings[findings["status"] == Status.FAIL]


def counts(findings: pd.DataFrame) -> dict[str, int]:
    """Failures by severity, plus passes: the numbers for a one-line summary."""
    failed = findings[findings["status"] == Status.FAIL]["severity"].value_counts()
    return {"error": int(failed.get("error", 0)), "warning": int(failed.get("warning", 0)),
            "info": int(failed.get("info", 0)),
            "pass": int((findings["status"] == Status.PASS).sum()),
            "exempt": int((findings["status"] == Status.EXEMPT).sum())}
