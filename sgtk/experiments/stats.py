"""Mean ± std over seeds, 95 % intervals that stay in the metric's range, and the tables a
sweep prints and reports. Tables and plots take their intervals from one function,
:func:`interval`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sgtk.tasks.registry import get_task


def headline(task: str) -> tuple[str, str, str]:
    """The figure ``task`` reports, ``max`` or ``min`` (its direction) and its unit in plots,
    from the task registry."""
    spec = get_task(task)
    return spec.headline, spec.direction, spec.unit


SHOW_SEEDS = 3  # with this many seeds or fewer, every seed's value is shown beside the mean
CLIPPED = "‡"  # marks an interval bound clipped to the metric's range


def metric_range(key: str) -> tuple[float, float]:
    """The values ``key`` can take: accuracies in [0, 1]; losses, bits per character, RMSE
    and MAE at least 0; anything else unbounded."""
    if key.endswith("accuracy"):
        return 0.0, 1.0
    if key.endswith(("loss", "bpc", "rmse", "mae")):
        return 0.0, math.inf
    return -math.inf, math.inf


@dataclass
class Stat:
    mean: float
    std: float
    n: int
    lo: float  # 95 % interval of the mean, inside the metric's range (nan with one seed)
    hi: float
    layers: tuple[int, ...] = ()  # the depths behind it (k = T-2 for the auto series)
    values: tuple[float, ...] = ()  # every seed's value
    clipped: tuple[bool, bool] = (False, False)  # whether lo, hi were cut to the range

    def cell(self) -> str:
        if self.n == 1:
            return f"{self.mean:.3f} (1 seed)"
        lo, hi = (f"{b:.3f}" + CLIPPED * c for b, c in zip((self.lo, self.hi), self.clipped))
        text = f"{self.mean:.3f} ± {self.std:.3f} [{lo}, {hi}]"
        if self.n <= SHOW_SEEDS:
            text += " seeds " + ", ".join(f"{v:.3f}" for v in self.values)
        return text

    def error_bar(self) -> tuple[float, float]:
        """(below, above) the mean: the interval as matplotlib's asymmetric yerr (0 for n=1)."""
        if self.n < 2:
            return 0.0, 0.0
        return self.mean - self.lo, self.hi - self.mean


def interval(values: list[float], key: str, level: float = 0.95) -> Stat:
    """Mean, std and the ``level`` interval of the mean of ``values`` (one per seed), for
    every table and plot.

    The Student-t interval, intersected with the metric's range and marked where it was cut:
    the true mean lies in the range, so the cut loses no coverage, while over two or three
    seeds the plain t-interval of an accuracy reaches below 0 (e.g. [-0.281, 0.329]). A
    percentile bootstrap would stay in range too, but over so few seeds it is no wider than
    the seeds' own spread and covers far less often than it claims."""
    mean, std, lo, hi = t_interval(values, level)
    low, high = metric_range(key)
    clipped = (lo < low, hi > high)  # False for nan: one seed has no interval to cut
    lo, hi = (low if clipped[0] else lo), (high if clipped[1] else hi)
    return Stat(mean, std, len(values), lo, hi, values=tuple(values), clipped=clipped)


def t_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float, float]:
    """Mean, sample std, and Student-t interval of the mean (nan bounds for one value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0, math.nan, math.nan
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(level, n - 1) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def t_quantile(level: float, df: int) -> float:
    """t with P(|T| <= t) = ``level`` for Student's T with ``df`` degrees of freedom, by
    bisection on the exact two-sided CDF (no scipy: it is not a dependency of sgtk)."""
    lo, hi = 0.0, 1.0
    while _t_two_sided(hi, df) < level:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_two_sided(mid, df) < level else (lo, mid)
    return (lo + hi) / 2


def _t_two_sided(t: float, df: int) -> float:
    """P(|T| <= t) for integer ``df``: the finite series of Abramowitz & Stegun 26.7.3-4."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 0:  # sin(θ) (1 + 1/2 cos² + 1·3/(2·4) cos⁴ + ... up to cos^(df-2))
        term = total = 1.0
        for j in range(df // 2 - 1):
            term *= cos2 * (2 * j + 1) / (2 * j + 2)
            total += term
        return sin * total
    # odd: 2/π (θ + sin(θ) (cos + 2/3 cos³ + 2·4/(3·5) cos⁵ + ... up to cos^(df-2)))
    term = total = math.cos(theta) if df > 1 else 0.0
    for j in range(1, (df - 1) // 2):
        term *= cos2 * (2 * j) / (2 * j + 1)
        total += term
    return 2 / math.pi * (theta + sin * total)


def series_of(row: dict[str, Any]) -> list[str]:
    return row.get("series") or [row["model"]]


def summarise(rows: list[dict[str, Any]], key: str) -> dict[tuple[str, int], Stat]:
    """(series, length) -> Stat of ``key`` over seeds; a row may count in two series."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in rows:
        if r.get(key) is None:
            continue
        for label in series_of(r):
            groups.setdefault((label, r["length"]), []).append(r)
    out = {}
    for group, members in groups.items():
        stat = interval([r[key] for r in members], key)
        stat.layers = tuple(sorted({r["layers"] for r in members}))
        out[group] = stat
    return out


def best_marks(stats: dict[tuple[str, int], Stat], mode: str) -> set[tuple[str, int]]:
    """Per length, the series whose 95 % interval lies clear of every other series' interval."""
    marked = set()
    for length in {t for _, t in stats}:
        column = {k: s for k, s in stats.items() if k[1] == length}
        if len(column) < 2 or any(s.n < 2 for s in column.values()):
            continue
        sign = 1 if mode == "max" else -1
        top = max(column, key=lambda k: sign * column[k].mean)
        s = column[top]
        others = [o for k, o in column.items() if k != top]
        if mode == "max" and all(s.lo > o.hi for o in others):
            marked.add(top)
        if mode == "min" and all(s.hi < o.lo for o in others):
            marked.add(top)
    return marked


def result_table(
    task: str, rows: list[dict[str, Any]], key: str | None = None
) -> tuple[str, list[str], list[list[str]]]:
    """Title, header and cells of the results table (mean ± std [95 % interval], and each
    seed's value up to three seeds) of the task's headline figure, or of ``key`` (text:
    ``heldout_bpc``)."""
    figure, mode, _ = headline(task)
    key = key or figure
    by_length = get_task(task).by_length
    stats = summarise(rows, key)
    marks = best_marks(stats, mode)
    labels = _ordered({label for label, _ in stats}, rows)
    lengths = sorted({t for _, t in stats})
    header = ["model"] + [f"T={t}" if by_length else key for t in lengths]
    cells = []
    for label in labels:
        line = [label]
        for t in lengths:
            s = stats.get((label, t))
            text = s.cell() if s else ""
            if s and label.endswith("k=auto") and by_length:
                text += f" (k={','.join(map(str, s.layers))})"
            line.append(("★ " if (label, t) in marks else "") + text)
        cells.append(line)
    title = (
        f"{key}: mean ± std [95 % t-interval, {CLIPPED} = cut to the metric's range] over seeds"
        f" (each seed's value up to {SHOW_SEEDS}); ★ = interval clear of every other model's"
    )
    return title, header, cells


def budget_table(rows: list[dict[str, Any]]) -> tuple[str, list[str], list[list[str]]]:
    """What each model got: parameters, hidden size, LR and its source, steps and time."""
    header = ["model", "params", "hidden", "lr", "steps used / max", "stopped by"]
    header += ["seconds / run", "init"]
    cells = []
    for label in _ordered({s for r in rows for s in series_of(r)}, rows):
        mine = [r for r in rows if label in series_of(r)]
        cells.append(
            [
                label,
                _span(r["params"] for r in mine),
                _span(r["hidden"] for r in mine),
                ", ".join(sorted({f"{r['lr']:g} ({r['lr_source']})" for r in mine})),
                f"{sum(r['steps'] for r in mine) / len(mine):.0f} / "
                + _span(r.get("max_steps", r["steps"]) for r in mine),
                _counts(str(r.get("stopped_by")) for r in mine),
                f"{sum(r['seconds'] for r in mine) / len(mine):.1f}",
                ", ".join(sorted({str(r.get("init")) for r in mine})),
            ]
        )
    return "Budgets (matched parameters, steps, batch and float32 for every model)", header, cells


def _counts(values) -> str:
    """``target 2, patience 1``: how many runs ended for each reason."""
    seen: dict[str, int] = {}
    for v in values:
        seen[v] = seen.get(v, 0) + 1
    return ", ".join(f"{k} {n}" for k, n in sorted(seen.items(), key=lambda kv: -kv[1]))


def _span(values) -> str:
    v = sorted(set(values))
    return f"{v[0]:,}" if len(v) == 1 else f"{v[0]:,}–{v[-1]:,}"


def _ordered(labels: set[str], rows: list[dict[str, Any]]) -> list[str]:
    """Series in the order they first appear in the sweep (rnn, lstm, gcn k=4, gcn k=auto)."""
    order: dict[str, int] = {}
    for r in rows:
        for label in series_of(r):
            order.setdefault(label, len(order))
    return sorted(labels, key=lambda s: order.get(s, len(order)))


def markdown(title: str, header: list[str], cells: list[list[str]]) -> str:
    lines = [f"**{title}**", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n"
