"""The report's pictures: matplotlib figures rendered once to PNG (no pyplot, no backend state),
and the mount matrix drawn as a coloured HTML grid (crisp, printable, and cheap at any size).

Each picture stays readable at any size: identical containers are drawn once with a count, and
at most MAX_BARS bars are drawn (the table beside the chart has every row).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from toolman_kit.present.html import Html, esc, para

MAX_BARS = 24
NONE_SET = "#b00020"
REQUESTS, LIMITS = "#4c78a8", "#f58518"


class Png:
    """A chart rendered once to PNG, shown as an inline <img> with its alternative text."""

    def __init__(self, fig: Any, alt: str):
        import io

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        self.data, self.alt = buffer.getvalue(), alt

    def _repr_html_(self) -> str:
        import base64

        data = base64.b64encode(self.data).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{esc(self.alt)}">'


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=96, layout="constrained")


_SERIES = [(kind, resource) for kind in ("requests", "limits") for resource in ("cpu", "memory")]
_SCALE = {"cpu": 1000, "memory": 1}  # views.resources gives cores and MiB: draw millicores, MiB


def resource_bars(df: pd.DataFrame) -> tuple[list[str], list[dict[tuple, tuple]]]:
    """(labels, values) of the bars to draw from views.resources: one bar per distinct
    (container, its four values and floors), labelled "container" + "×N" when N workloads share
    it, or "(workload)" when it is one of several; values (kind, resource) → (value, floor)."""
    bars: dict[tuple, list[Any]] = {}
    several = df["workload"].nunique() > 1
    for (workload, container), part in df.groupby(["workload", "container"], sort=False):
        got = {(k, r): (v * _SCALE[r], f * _SCALE[r]) for k, r, v, f in zip(
            part["kind"], part["resource"], part["current_value"], part["profile_value"],
            strict=True)}
        key = (container, tuple(str(got.get(s)) for s in _SERIES))
        bars.setdefault(key, [container, got, []])[2].append(workload)
    labels, values = [], []
    for container, got, workloads in bars.values():
        suffix = f" ×{len(workloads)}" if len(workloads) > 1 else \
            f" ({workloads[0]})" if several else ""
        labels.append((container + suffix)[:48])
        values.append(got)
    return labels, values


def requests_vs_limits(frames: dict[str, pd.DataFrame]) -> Png | Html:
    """Requests and limits per container (views.resources), CPU and memory side by side, one
    row per set; every row shares the CPU axis and the memory axis, so bars compare across sets.
    What a container does not set is labelled in red ("no limits"); the black tick is the
    profile's floor."""
    fig = resource_figure(frames)
    if fig is None:
        return para("No containers.", muted=True)
    return Png(fig, "Bar charts of CPU and memory requests and limits per container, against "
                    "the profile's floor: " + ", ".join(frames))


def resource_figure(frames: dict[str, pd.DataFrame]) -> Any:
    """The figure of `requests_vs_limits` (None without containers)."""
    drawn = {label: resource_bars(df) for label, df in frames.items() if len(df)}
    if not drawn:
        return None
    more = {label: max(0, len(b[0]) - MAX_BARS) for label, b in drawn.items()}
    drawn = {label: (names[:MAX_BARS], values[:MAX_BARS])
             for label, (names, values) in drawn.items()}
    heights = [0.6 + 0.42 * max(len(names), 2) for names, _ in drawn.values()]
    fig = _figure(10, 0.5 + sum(heights))
    axes = fig.subplots(len(drawn), 2, squeeze=False, sharex="col",
                        gridspec_kw={"height_ratios": heights})
    top = {r: 0.0 for r in _SCALE}
    for row, (label, (names, values)) in enumerate(drawn.items()):
        for col, (resource, unit) in enumerate((("cpu", "CPU (millicores)"),
                                                ("memory", "memory (MiB)"))):
            ax = axes[row][col]
            bars: dict[str, tuple[list[float], list[float]]] = {"requests": ([], []),
                                                                "limits": ([], [])}
            ticks: tuple[list[float], list[float]] = ([], [])  # the floors: (y, x)
            for i, got in enumerate(values):
                nothing = all(pd.isna(got.get((k, resource), (float("nan"),))[0])
                              for k in ("requests", "limits"))
                if nothing:  # one label for the pair
                    ax.text(0, i, " no requests or limits", va="center", fontsize=7,
                            color=NONE_SET)
                for offset, kind in ((-0.2, "requests"), (0.2, "limits")):
                    value, floor = got.get((kind, resource), (float("nan"),) * 2)
                    y = i + offset
                    if pd.isna(value):
                        if not nothing:
                            ax.text(0, y, f" no {kind}", va="center", fontsize=7,
                                    color=NONE_SET)
                    else:
                        bars[kind][0].append(y)
                        bars[kind][1].append(value)
                        top[resource] = max(top[resource], value)
                    if not pd.isna(floor):
                        ticks[0].append(y)
                        ticks[1].append(floor)
                        top[resource] = max(top[resource], floor)
            # One call per series, not per bar: matplotlib's cost is per call at 24 bars × 4.
            for kind, color in (("requests", REQUESTS), ("limits", LIMITS)):
                if bars[kind][0]:
                    ax.barh(bars[kind][0], bars[kind][1], height=0.38, color=color)
            if ticks[0]:
                ax.vlines(ticks[1], [y - 0.19 for y in ticks[0]], [y + 0.19 for y in ticks[0]],
                          color="black", lw=2)
            ax.set_yticks(range(len(names)), names if col == 0 else [""] * len(names),
                          fontsize=8)
            ax.set_ylim(len(names) - 0.5, -0.5)
            ax.grid(axis="x", alpha=0.3)
            title = f"{label} — {unit}" if label else unit
            if more[label] and col == 0:
                title += f" (first {MAX_BARS}; +{more[label]} in the table)"
            ax.set_title(title, fontsize=9)
    for col, resource in enumerate(_SCALE):
        axes[0][col].set_xlim(0, top[resource] * 1.08 or 1)  # shared by every row
    fig.suptitle("blue: requests · orange: limits · black tick: the profile's floor · "
                 "red: not set", fontsize=9)
    return fig


def mount_grid(df: pd.DataFrame) -> Html:
    """views.mount_matrix as a grid: a row per container, a column per volume, rw in red and ro
    in green (Secret, ConfigMap, downwardAPI and projected volumes are always ro)."""
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for container, values in df.iterrows():
        cells = "".join(f'<td class="tk-{v}">{v}</td>' if v in ("rw", "ro") else "<td></td>"
                        for v in values)
        rows.append(f"<tr><th>{esc(container)}</th>{cells}</tr>")
    return Html(f'<table class="tk tk-grid"><thead><tr><th>container \\ volume</th>{head}</tr>'
                f"</thead><tbody>{''.join(rows)}</tbody></table>")
