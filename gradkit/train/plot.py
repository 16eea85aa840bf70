"""Save-only figures of a training run (matplotlib's Agg backend; nothing is shown)."""
from __future__ import annotations


def figure_module():
    """matplotlib.pyplot on the Agg backend, imported on first use (keeps ``import gradkit`` fast)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_history(epochs: list[dict], path: str, title: str = "") -> str:
    """Loss and accuracy (train and validation) against epochs, side by side; returns ``path``."""
    plt = figure_module()
    from matplotlib.ticker import MaxNLocator
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    x = [r["epoch"] for r in epochs]
    for ax, quantity in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-o"), ("val_", "--s")):
            values = [r.get(prefix + quantity) for r in epochs]
            if any(v is not None for v in values):
                ax.plot(x, values, style, label=("validation " if prefix else "train ") + quantity)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(quantity)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
