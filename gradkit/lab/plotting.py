"""Save-only figure helpers for the lab (Agg backend; nothing is ever shown)."""
from __future__ import annotations

import math
import os


def figure(panels: int = 1, columns: int | None = None, panel_size=(5.0, 3.6)):
    """A figure with ``panels`` axes in a grid (``columns`` per row); returns ``(fig, flat list of axes)``.
    Unused cells of the grid are hidden."""
    from ..train.plot import figure_module
    plt = figure_module()
    columns = columns or min(panels, 4)
    rows = math.ceil(panels / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(panel_size[0] * columns, panel_size[1] * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[panels:]:
        ax.set_visible(False)
    return fig, flat[:panels]


def save(fig, folder, name: str, title: str | None = None) -> str:
    """Write ``fig`` to ``folder/name.png`` (tight layout), close it and return the path."""
    from ..train.plot import figure_module
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = os.path.join(str(folder), f"{name}.png")
    fig.savefig(path, dpi=100)
    figure_module().close(fig)
    return path


def curves(ax, series: dict, xlabel: str, ylabel: str, x=None, log_y: bool = False, title: str = "") -> None:
    """One line per ``label: values`` of ``series`` on ``ax`` (NaN and inf are left as gaps)."""
    for label, values in series.items():
        xs = x if x is not None else range(len(values))
        ax.plot(list(xs)[:len(values)], [v if v is not None and math.isfinite(v) else float("nan") for v in values],
                label=label, linewidth=1.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=8)
