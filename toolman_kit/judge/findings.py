"""Findings: one row per (check, object, container) examined.

The engine makes plain row tuples (in COLUMNS order) and `Findings` holds them, problems first.
The command line and the output formats stream from those rows; pandas is imported only when a
DataFrame is asked for (`Findings.frame()`, `Analysis.findings`), because importing it costs more
than a whole `toolman-kit check` of one chart.

The frame has honest dtypes: `severity` and `status` are ordered categoricals (error > warning >
info; fail > exempt > skip > pass), text columns are pandas' `string` dtype with `<NA>` where a
value is missing (no container, no message on a pass, no template…), `line` is nullable `Int64`.

Status vocabulary. A finding's status is one of

    fail    the check found a problem            exempt  a problem, exempted with a reason
    skip    the check does not apply (a reason)  pass    the check ran and found nothing

and a checklist row's status summarises the findings of the checks it names:

    fail    one of them failed with severity error      (❌)
    warning one of them failed with severity warning    (⚠️)
    pass    they ran, and failed at most with severity info or exempt (✅)
    n/a     none of them applied: only skips, or no rows (➖)
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    import pandas as pd


class Status(StrEnum):
    FAIL = "fail"
    PASS = "pass"
    SKIP = "skip"
    EXEMPT = "exempt"


# A Status, and a registry.Severity, as a row holds them: plain strings.
StatusName = Literal["fail", "pass", "skip", "exempt"]
SeverityName = Literal["error", "warning", "info"]


class Row(NamedTuple):
    """One finding, as the engine makes it ("" where a text value is missing, None for line)."""

    check_id: str
    area: str
    severity: SeverityName
    status: StatusName
    kind: str
    namespace: str
    name: str
    container: str
    message: str
    remediation: str
    path: str
    file: str
    line: int | None
    template: str
    values_set: str
    exempt_reason: str
    values: str = ""  # failures in a chart's values analysis: the keys that control the field


COLUMNS = Row._fields
# Positions in a row tuple, by column. The engine makes plain tuples, not Rows: a million Row
# instances at 20,000 Deployments cost a second to make, and the collector keeps tracking them
# (it stops tracking plain tuples of strings). Code that reads rows by the million (the formats,
# the checklist) indexes them with these; elsewhere `Row._make(t)` names the fields.
# tests/test_engine.py checks that they follow COLUMNS.
(CHECK_ID, AREA, SEVERITY, STATUS, KIND, NAMESPACE, NAME, CONTAINER, MESSAGE, REMEDIATION, PATH,
 FILE, LINE, TEMPLATE, VALUES_SET, EXEMPT_REASON, VALUES) = range(len(COLUMNS))
SEVERITIES = ("info", "warning", "error")  # ascending: error is the worst
STATUSES = ("pass", "skip", "exempt", "fail")  # ascending: fail needs the most attention
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}  # rank, most severe first
STATUS_ORDER = {"fail": 0, "exempt": 1, "skip": 2, "pass": 3}
RANKS = len(STATUS_ORDER) * len(SEVERITY_ORDER)
# Columns that always hold a value; every other text column is <NA> where it is empty.
REQUIRED = ("check_id", "area", "severity", "status", "kind", "name", "file")


def rank(status: StatusName, severity: SeverityName) -> int:
    """The position of a row's (status, severity) in the findings' order: problems first, most
    severe first."""
    return STATUS_ORDER[status] * len(SEVERITY_ORDER) + SEVERITY_ORDER[severity]


class Findings(list):
    """The findings of one run: row tuples in COLUMNS order, problems first (fail, exempt, skip,
    pass; within each, error, warning, info) and otherwise in the order of the manifests.

    A list, so formats stream the tuples as they are; `Row._make(t)` names the fields, and
    `frame()` is the pandas DataFrame.
    """

    __slots__ = ()

    def failed(self) -> Iterator[tuple]:
        """The failures, most severe first."""
        return (r for r in self if r[STATUS] == "fail")

    def problems(self) -> Iterator[tuple]:
        """The failures and the exempted failures (what --only-failed keeps)."""
        return (r for r in self if r[STATUS] in ("fail", "exempt"))

    def counts(self) -> dict[str, int]:
        """Failures by severity, then passes and exemptions: the numbers of a one-line summary
        (skips are not results: a check that does not apply)."""
        result = dict.fromkeys(("error", "warning", "info", "pass", "exempt", "skip"), 0)
        for r in self:
            result[r[SEVERITY] if r[STATUS] == "fail" else r[STATUS]] += 1
        del result["skip"]
        return result

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with the dtypes the module docstring describes."""
        return frame(self)


def frame(rows: list[tuple]) -> pd.DataFrame:
    """The findings DataFrame from row tuples in COLUMNS order (already in findings order)."""
    import pandas as pd

    df = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    return typed(df, {"severity": SEVERITIES, "status": STATUSES}, REQUIRED, ints=("line",))


def typed(df: pd.DataFrame, categories: dict[str, tuple[str, ...]], required: tuple[str, ...],
          ints: tuple[str, ...] = ()) -> pd.DataFrame:
    """Ordered categoricals for `categories`, nullable integers for `ints`, and `string` with <NA>
    for the empty values of every other column not `required`."""
    import pandas as pd

    for column in df.columns:
        if column in categories:
            df[column] = pd.Categorical(df[column], categories=categories[column], ordered=True)
        elif column in ints:
            df[column] = df[column].astype("Int64")
        else:
            values = df[column].astype("string")
            df[column] = values if column in required else values.mask(values == "")
    return df

