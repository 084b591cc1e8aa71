"""The model zoo's memory horizon: every family's palindrome test accuracy against T.

Reads the rows of ``compare`` sweeps (``--models rnn,...,gcn@dilated --layers auto``) and
gives, per model and graph, the longest T whose test accuracy is at least 0.99 (mean over
seeds): one PNG and one markdown table. A length not run because the model had already
failed at a shorter one shows as "—, failed at T=…".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sgtk.experiments import stats
from sgtk.experiments.plots import CHANCE, _save, interval_bars, seed_dots
from sgtk.models.registry import FAMILIES, REGISTRY, get

SOLVED = 0.99
FAMILY_COLOURS = {"recurrent": "tab:blue", "graph": "tab:orange", "attention": "tab:green",
                  "hybrid": "tab:purple"}  # fmt: skip


def horizon_rows(sweep_dirs: list[Path]) -> list[dict[str, Any]]:
    """The finished runs under each ``DIR/runs`` of a task swept by length (palindromes)."""
    from sgtk.errors import SgtkError
    from sgtk.experiments.sweep_files import read_rows
    from sgtk.tasks.registry import TASK_REGISTRY

    by_length = {name for name, spec in TASK_REGISTRY.items() if spec.by_length}
    rows = [r for r in read_rows(sweep_dirs)[0] if r.get("task") in by_length]
    if not rows:
        where = ", ".join(str(Path(d) / "runs") for d in sweep_dirs)
        raise SgtkError(
            f"no finished palindrome runs under {where}: give the folders compare wrote"
        )
    return rows


def horizons(rows: list[dict[str, Any]], threshold: float = SOLVED) -> list[dict[str, Any]]:
    """Per model label (by family, then registry order): family, graph, accuracy and depth
    by T, horizon."""
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: r["length"]):
        label = r.get("label", r["model"])
        entry = out.setdefault(label, {
            "label": label, "model": r["model"], "family": get(r["model"]).family,
            "graph": r.get("graph", "path"), "runs": {},
        })  # fmt: skip
        entry["runs"].setdefault(r["length"], []).append(r)
    for entry in out.values():
        entry["accuracy"] = {
            t: sum(r["test_accuracy"] for r in rs) / len(rs) for t, rs in entry["runs"].items()
        }
        entry["seeds"] = {t: len(rs) for t, rs in entry["runs"].items()}
        entry["interval"] = {  # the tables' and plots' one interval (inside [0, 1])
            t: stats.interval([r["test_accuracy"] for r in rs], "test_accuracy")
            for t, rs in entry["runs"].items()
        }
        entry["std"] = {t: s.std for t, s in entry["interval"].items()}
        entry["layers"] = {t: rs[0]["layers"] for t, rs in entry["runs"].items()}
        solved = [t for t, a in entry["accuracy"].items() if a >= threshold]
        failed = [t for t, a in entry["accuracy"].items() if a < threshold]
        entry["failed_at"] = min(failed) if failed else None
        below = [t for t in solved if entry["failed_at"] is None or t < entry["failed_at"]]
        entry["horizon"] = max(below) if below else None
    order = list(REGISTRY)
    return sorted(
        out.values(),
        key=lambda e: (FAMILIES.index(e["family"]), order.index(e["model"]), e["label"]),
    )


def horizon_table(rows: list[dict[str, Any]], lengths: list[int] | None = None) -> str:
    """Markdown: model, family, graph, depth, test accuracy per T (where there is more than
    one seed: mean ± std, 95 % interval and each seed's value, or n past three), horizon."""
    found = horizons(rows)
    lengths = lengths or sorted({t for e in found for t in e["accuracy"]})
    head = ["model", "family", "graph", "layers k"] + [f"T={t}" for t in lengths]
    lines = ["| " + " | ".join(head + ["horizon (acc ≥ 0.99)"]) + " |"]
    lines.append("|" + "---|" * (len(head) + 1))
    for e in found:
        depth = [e["layers"][t] for t in sorted(e["layers"])]
        ks = "–" if set(depth) == {0} else " / ".join(map(str, dict.fromkeys(depth)))
        cells = []
        for t in lengths:
            if t in e["accuracy"] and e["seeds"][t] > 1:
                n = e["seeds"][t]
                cells.append(
                    e["interval"][t].cell() + (f" (n={n})" if n > stats.SHOW_SEEDS else "")
                )
            elif t in e["accuracy"]:
                cells.append(f"{e['accuracy'][t]:.3f}")
            elif e["failed_at"] is not None and t > e["failed_at"]:
                cells.append(f"—, failed at T={e['failed_at']}")
            else:
                cells.append("not run")
        horizon = e["horizon"]
        shown = "< " + str(min(lengths)) if horizon is None else str(horizon)
        if horizon == max(lengths):
            shown = f"≥ {horizon}"
        lines.append("| " + " | ".join([f"`{e['label']}`", e["family"], e["graph"], ks,
                                         *cells, shown]) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"


def plot_zoo_horizon(rows: list[dict[str, Any]], path: Path) -> dict[str, Any]:
    """Left: test accuracy against T per model, coloured by family. Right: each horizon."""
    import matplotlib.pyplot as plt

    found = horizons(rows)
    lengths = sorted({t for e in found for t in e["accuracy"]})
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), width_ratios=(1.3, 1))
    styles = ("-", "--", ":", "-.")
    markers = "osD^v<>p"
    seen: dict[str, int] = {}
    for e in found:
        n = seen[e["family"]] = seen.get(e["family"], -1) + 1
        ts = sorted(e["accuracy"])
        points = [e["interval"][t] for t in ts]
        left.errorbar(ts, [e["accuracy"][t] for t in ts], yerr=interval_bars(points),
                      marker=markers[n % len(markers)], ls=styles[n % len(styles)], capsize=2,
                      color=FAMILY_COLOURS[e["family"]], alpha=0.85, label=e["label"])  # fmt: skip
        seed_dots(left, ts, points, FAMILY_COLOURS[e["family"]])
    left.axhline(SOLVED, color="black", lw=0.8, ls="--", label=f"solved ({SOLVED})")
    left.axhline(CHANCE, color="grey", lw=0.8, ls=":", label="chance (0.1)")
    left.set(xlabel="palindrome length T", ylabel="test accuracy (fraction correct)",
             xticks=lengths, ylim=(0, 1.03))  # fmt: skip
    left.legend(fontsize=7, ncol=2, loc="center right")  # the corners hold the data
    labels = [e["label"] for e in found][::-1]
    values = [e["horizon"] or 0 for e in found][::-1]
    colours = [FAMILY_COLOURS[e["family"]] for e in found][::-1]
    right.barh(labels, values, color=colours)
    for y, e in enumerate(found[::-1]):
        text = "none" if e["horizon"] is None else str(e["horizon"])
        if e["horizon"] == max(lengths):
            text = f"≥ {text} (longest run)"
        if e["failed_at"] is not None:
            text += f" (fails at {e['failed_at']})"
        right.annotate(text, (values[y], y), xytext=(3, -3), textcoords="offset points",
                       fontsize=7)  # fmt: skip
    right.set(xlabel="horizon: longest T solved (test accuracy ≥ 0.99)",
              xlim=(0, max(lengths) * 1.45), xticks=[0, *lengths])  # fmt: skip
    right.tick_params(axis="y", labelsize=8)
    seeds = sorted({n for e in found for n in e["seeds"].values()})
    n_seeds = "/".join(map(str, seeds))
    title = f"Palindromes, matched parameters, {n_seeds} seed{'s' * (seeds != [1])} per point"
    if seeds != [1]:
        title += " (bars: 95 % interval; dots: each seed)"
    fig.suptitle(f"{title}; colour = family (recurrent, graph, attention, hybrid)", fontsize=9)
    return {"path": _save(fig, path), "horizons": {e["label"]: e["horizon"] for e in found},
            "intervals": {e["label"]: e["interval"] for e in found}}  # fmt: skip
