"""Instruments: figures of a report. They only draw what the recorder measured (saved, never shown)."""
from __future__ import annotations

import math

from . import quantities as q


def gradient_flow(report, path: str) -> str:
    """Three panels: per-sample gradient norm reaching each weight layer (log scale: vanishing falls to
    the left, exploding rises), update/weight ratio per weight layer, and the activation histograms of
    the last measured step, one line per activation layer. Returns ``path``."""
    from ..train.plot import figure_module
    plt = figure_module()
    rec = report.recorder
    weights = [row for row in report.layers if row["kind"] == "weight"]
    acts = [row for row in report.layers if row["kind"] == "activation"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    labels = [row["name"] or "model" for row in weights]
    x = range(len(weights))

    grads = [row.get(q.GRAD_NORM, math.nan) for row in weights]
    axes[0].bar(x, [g if g and g > 0 else math.nan for g in grads], color="tab:blue")
    axes[0].set_yscale("log")
    axes[0].set_title("gradient reaching each layer (per-sample norm, median)")
    ratios = [row.get(q.UPDATE_RATIO, math.nan) for row in weights]
    axes[1].bar(x, [r if r and r > 0 else math.nan for r in ratios], color="tab:orange")
    axes[1].set_yscale("log")
    axes[1].axhline(1e-3, color="gray", ls="--", lw=1, label="rule of thumb 1e-3")
    axes[1].legend(fontsize=8)
    axes[1].set_title("update / weight ratio per step (median)")
    for ax in axes[:2]:
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, rotation=60, fontsize=7)
        ax.set_xlabel("weight layer (input -> output)")
        ax.grid(alpha=0.3, axis="y")

    last = rec.probes[-1] if rec is not None and rec.probes else None
    for row in acts:
        hist = last.layers.get(row["name"], {}).get(q.HISTOGRAM) if last is not None else None
        if hist is None:
            continue
        counts, edges = hist
        centres = (edges[:-1] + edges[1:]) / 2
        total = counts.sum() or 1
        axes[2].plot(centres, counts / total, label=f"{row['name']} {row['activation']}", lw=1)
    axes[2].set_title(f"activation histograms (step {last.step if last else '-'})")
    axes[2].set_xlabel("activation value")
    axes[2].set_ylabel("share")
    if acts:
        axes[2].legend(fontsize=7, ncol=2)
    names = ", ".join(report.names) or "no findings"
    fig.suptitle(f"{report.title or 'gradkit doctor'}\n{names}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
