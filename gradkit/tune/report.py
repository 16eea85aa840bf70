"""What a search leaves behind: a best-trials table, trials.csv / trials.json, and two figures.

* ``history.png``: every trial's validation accuracy against its number, with the best so far.
* ``scatter.png``: the two first dimensions (learning rate against weight decay for the book's
  space) on their own scales, each trial coloured by its accuracy; pruned and failed trials in grey.
"""
from __future__ import annotations

import csv
import json
import math
import os


def records(study) -> list[dict]:
    """One plain dict per trial: number, state, value (the last reported one for a pruned trial),
    params, epochs (how many it reported), curve (the value reported after each epoch) and the worker
    that ran it."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        steps = t.intermediate_values
        value = t.value if t.value is not None else (steps[max(steps)] if steps else None)
        rows.append({"number": t.number, "state": t.state.name, "value": value, "params": dict(t.params),
                     "epochs": len(steps), "curve": [steps[k] for k in sorted(steps)],
                     "worker": t.user_attrs.get("worker", "")})
    return rows


def best(rows: list[dict], k: int = 10) -> list[dict]:
    """The ``k`` complete trials with the highest value (ties: the earlier trial first)."""
    done = [r for r in rows if r["state"] == "COMPLETE" and r["value"] is not None]
    return sorted(done, key=lambda r: (-r["value"], r["number"]))[:k]


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if (value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e4)) else f"{value:.4f}"
    return str(value)


def table(rows: list[dict], k: int = 10) -> str:
    """A Markdown table of the best ``k`` complete trials."""
    top = best(rows, k)
    names = sorted({n for r in rows for n in r["params"]})
    head = ["rank", "trial", "val_accuracy", *names, "epochs"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for rank, r in enumerate(top, 1):
        cells = [rank, r["number"], r["value"], *(r["params"].get(n, "") for n in names), r["epochs"]]
        lines.append("| " + " | ".join(_fmt(c) for c in cells) + " |")
    counts = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    lines.append("")
    lines.append(f"{len(rows)} trials: " + ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())))
    return "\n".join(lines)


def write(rows: list[dict], out: str) -> list[str]:
    """trials.json and trials.csv in ``out``; returns their paths."""
    os.makedirs(out, exist_ok=True)
    as_json = os.path.join(out, "trials.json")
    with open(as_json, "w", encoding="utf-8") as f:
        json.dump(rows, f, indent=1)
    as_csv = os.path.join(out, "trials.csv")
    names = sorted({n for r in rows for n in r["params"]})
    with open(as_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["number", "state", "value", *names, "epochs", "worker"])
        for r in rows:
            w.writerow([r["number"], r["state"], r["value"], *(r["params"].get(n, "") for n in names), r["epochs"],
                        r["worker"]])
    return [as_json, as_csv]


def plot_history(rows: list[dict], path: str, title: str = "") -> str:
    """Validation accuracy of every trial against its number, and the best so far; returns ``path``."""
    from ..train.plot import figure_module
    plt = figure_module()
    fig, ax = plt.subplots(figsize=(7, 4))
    rows = sorted(rows, key=lambda r: r["number"])
    for state, style in (("COMPLETE", dict(c="tab:blue", marker="o")), ("PRUNED", dict(c="0.6", marker="x"))):
        pts = [(r["number"], r["value"]) for r in rows if r["state"] == state and r["value"] is not None]
        if pts:
            ax.scatter(*zip(*pts), s=16, label=state.lower(), **style)
    running, xs, ys = -math.inf, [], []
    for r in rows:
        if r["state"] == "COMPLETE" and r["value"] is not None:
            running = max(running, r["value"])
            xs.append(r["number"])
            ys.append(running)
    if xs:   # carried on to the last trial, whatever its state
        ax.step(xs + [rows[-1]["number"]], ys + [running], where="post", c="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("validation accuracy")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title or "optimisation history")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_scatter(rows: list[dict], space: dict, path: str, x: str | None = None, y: str | None = None,
                 title: str = "") -> str | None:
    """Trials in the plane of two numeric dimensions, coloured by validation accuracy; returns ``path``,
    or None when the space has fewer than two numeric dimensions."""
    from ..train.plot import figure_module
    from .space import Categorical, Int, LogUniform
    numeric = [n for n, d in space.items() if not isinstance(d, Categorical)]
    x = x or ("lr" if "lr" in numeric else (numeric[0] if numeric else None))
    y = y or ("weight_decay" if "weight_decay" in numeric and x != "weight_decay" else
              next((n for n in numeric if n != x), None))
    if x is None or y is None:
        return None
    plt = figure_module()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    done = [r for r in rows if r["state"] == "COMPLETE" and x in r["params"] and y in r["params"]]
    other = [r for r in rows if r["state"] != "COMPLETE" and x in r["params"] and y in r["params"]]
    if other:
        ax.scatter([r["params"][x] for r in other], [r["params"][y] for r in other], c="0.7", marker="x", s=18,
                   label="pruned / failed")
    if done:
        points = ax.scatter([r["params"][x] for r in done], [r["params"][y] for r in done],
                            c=[r["value"] for r in done], cmap="viridis", s=28, edgecolors="k", linewidths=0.3)
        fig.colorbar(points, ax=ax, label="validation accuracy")
        top = best(rows, 1)[0]
        ax.scatter([top["params"][x]], [top["params"][y]], marker="*", s=220, c="tab:red", label="best")
    for name, setter in ((x, ax.set_xscale), (y, ax.set_yscale)):
        dim = space[name]
        if isinstance(dim, LogUniform) or (isinstance(dim, Int) and dim.log):
            setter("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(alpha=0.3, which="both")
    if done or other:
        ax.legend(loc="best", fontsize=8)
    ax.set_title(title or f"{x} vs {y}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save(study, space: dict, out: str, title: str = "", k: int = 10) -> dict:
    """Everything at once: tables, trial files and figures in ``out``; returns their paths and the table."""
    rows = records(study)
    os.makedirs(out, exist_ok=True)
    files = write(rows, out)
    summary = table(rows, k)
    with open(os.path.join(out, "best.md"), "w", encoding="utf-8") as f:
        f.write(summary + "\n")
    files.append(os.path.join(out, "best.md"))
    if any(r["value"] is not None for r in rows):
        files.append(plot_history(rows, os.path.join(out, "history.png"), title=title))
        scatter = plot_scatter(rows, space, os.path.join(out, "scatter.png"), title=title)
        if scatter:
            files.append(scatter)
    return {"table": summary, "files": files, "rows": rows}
