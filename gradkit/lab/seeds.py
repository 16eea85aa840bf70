"""Run experiments over several seeds, in parallel worker processes, and decide each claim on them all.

Every (experiment, seed) pair is one task. With ``workers`` > 1 the tasks go to a pool of fresh
processes (the ``spawn`` context: no state inherited from the parent's threads), each on ``threads``
BLAS threads; with one worker they run in this process. A task's numbers depend only on its seed, so
the results are the same whatever the worker count. When an experiment's seeds are all in, the claims
are decided by :mod:`aggregate`'s 80% rule, the figures are drawn from the mean of the seeds' results
with a min-max band around every averaged curve, a per-claim figure shows which seeds each claim held
in, and ``<out>/<name>/results.json`` keeps every seed's numbers.
"""
from __future__ import annotations

import contextlib
import os

from . import aggregate, plotting, progress, registry
from .runner import Outcome, jsonable, measure, write_record


def parse_seeds(text: str, first: int = 0) -> list[int]:
    """``"5"`` -> seeds first..first+4; ``"0,3,7"`` -> those seeds (distinct, in that order)."""
    try:
        if "," in text:
            seeds = [int(s) for s in text.split(",") if s.strip()]
        else:
            count = int(text)
            if count < 1:
                raise ValueError
            seeds = list(range(first, first + count))
    except ValueError:
        raise ValueError(f"--seeds: need a count >= 1 or a comma-separated list of seeds, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"--seeds: need distinct seeds >= 0, got {text!r}")
    return seeds


def _task(name: str, size: str, seed: int, data):
    """One seed of one experiment (runs in a worker): results, verdicts and seconds."""
    _, _, results, verdicts, seconds = measure(name, size, seed, data)
    return results, verdicts, seconds


def _init_worker(threads) -> None:
    from ..threads import set_num_threads
    if threads:
        set_num_threads(threads)


@contextlib.contextmanager
def _executor(workers: int, threads):
    """A ``submit(fn, *args) -> Future`` callable: a spawn process pool's, or, for one worker, one that
    runs the call at once in this process."""
    if workers <= 1:
        from concurrent.futures import Future

        def submit(fn, *args):
            future = Future()
            try:
                future.set_result(fn(*args))
            except Exception as err:  # reported per experiment by the caller
                future.set_exception(err)
            return future
        yield submit
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(threads,)) as pool:
        yield pool.submit


def run_seeds(names, out: str, seeds: list, size: str = "full", data: str | None = None, workers: int = 1,
              threads: int | None = 1, echo=print, bars: bool = False) -> list[Outcome]:
    """Run every experiment of ``names`` once per seed (``workers`` processes), decide each claim over the
    seeds, write ``out/<name>/results.json`` and figures as each experiment completes, then report.html.
    An experiment whose run raises is reported and counted as failed; the others go on."""
    from .report import write_report
    outcomes = []
    lazy = workers <= 1  # in this process: run each experiment's seeds only when its turn comes
    with progress.enabled(bars and lazy), _executor(workers, threads) as submit:
        pending = {} if lazy else {n: [submit(_task, n, size, s, data) for s in seeds] for n in names}
        for name in names:
            futures = pending.get(name) or [submit(_task, name, size, s, data) for s in seeds]
            try:
                per_seed = [f.result() for f in futures]
                outcome = finish(name, out, size, seeds, per_seed, data)
            except Exception as err:  # noqa: BLE001 - one broken experiment must not stop the others
                echo(f"ERROR {name}: {type(err).__name__}: {err}")
                outcomes.append(Outcome(name, size, {}, {}, [registry.Verdict("ran", False, str(err), "no error")],
                                        [], 0.0, os.path.join(out, name)))
                continue
            outcomes.append(outcome)
            lines = [f"{'PASS' if outcome.passed else 'FAIL'}  {name}  ({len(seeds)} seeds, {outcome.seconds:.1f} s)"]
            lines += [f"    {v.status}  {v.claim}: {v.measured}" for v in outcome.verdicts]
            echo("\n".join(lines))
    echo(f"report: {write_report(out)}")
    return outcomes


def finish(name: str, out: str, size: str, seeds: list, per_seed: list, data=None) -> Outcome:
    """Aggregate one experiment's per-seed ``(results, verdicts, seconds)``: verdicts, figures, results.json."""
    exp = registry.get(name)
    config = exp.configure(size, data=data)
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    decided = aggregate.verdicts({s: v for s, (_, v, _) in zip(seeds, per_seed)})
    bands = aggregate.Bands()
    mean = aggregate.mean_results([r for r, _, _ in per_seed], bands)
    figures, drawn = _figures(exp, mean, per_seed[0][0], bands, folder, len(seeds))
    figures.append(summary_figure(name, decided, seeds, folder))
    if isinstance(mean, dict) and isinstance(mean.get("tables"), list):
        mean = {**mean, "tables": [{**t, "title": f"{t.get('title', '')} (mean of {len(seeds)} seeds)"}
                                   for t in mean["tables"] if isinstance(t, dict)]}
    seconds = sum(s for _, _, s in per_seed)
    outcome = Outcome(name, size, jsonable(config), jsonable(mean), [d["verdict"] for d in decided],
                      [os.path.relpath(p, folder) for p in figures], seconds, folder)
    record = {"experiment": name, "title": exp.title, "source": exp.source, "summary": exp.summary,
              "size": size, "seed": seeds, "seconds": round(seconds, 3), "config": outcome.config,
              "rule": aggregate.rule(len(seeds)), "figures_show": drawn,
              "verdicts": [{**d["verdict"].to_dict(), "held": d["held"], "failed": d["failed"],
                            "numbers": d["numbers"], "difference": d["difference"]} for d in decided],
              "figures": outcome.figures, "results": outcome.results,
              "seeds": [{"seed": s, "seconds": round(sec, 3), "verdicts": [v.to_dict() for v in vs],
                         "results": jsonable(r)} for s, (r, vs, sec) in zip(seeds, per_seed)]}
    write_record(folder, record)
    return outcome


def _figures(exp, mean, first, bands, folder, count: int):
    """The experiment's own figures drawn from the mean results, bands around the averaged curves; if
    its plot cannot take the averaged results, seed 0's figures. Returns (paths, what they show)."""
    try:
        with band_plots(bands) as banded:
            paths = list(exp.plot(mean, folder))
        return paths, (f"mean of {count} seeds; shaded: min-max over the seeds around the {banded[0]} curves that "
                       f"plot an averaged series as measured (other lines, bars and histograms: the mean only)")
    except Exception as err:  # noqa: BLE001 - the seed's own results always plot
        from ..train.plot import figure_module
        figure_module().close("all")
        return list(exp.plot(first, folder)), f"the first seed only (the plot could not take the mean: {err})"


@contextlib.contextmanager
def band_plots(bands: aggregate.Bands):
    """While inside, every line a figure plots whose values equal an averaged series gets its min-max band
    (shaded in the line's colour). Matplotlib's ``Axes.plot`` is wrapped for the block only; yields a
    one-item list counting the bands drawn."""
    from ..train.plot import figure_module
    figure_module()
    from matplotlib.axes import Axes
    original, banded = Axes.plot, [0]

    def plot(ax, *args, **kwargs):
        lines = original(ax, *args, **kwargs)
        for line in lines:
            band = bands.find(line.get_ydata())
            if band is not None:
                ax.fill_between(line.get_xdata(), band[0], band[1], color=line.get_color(), alpha=0.2, linewidth=0)
                banded[0] += 1
        return lines

    Axes.plot = plot
    try:
        yield banded
    finally:
        Axes.plot = original


def summary_figure(name: str, decided: list, seeds: list, folder) -> str:
    """One row per claim, one column per seed: filled where the claim held, open where it failed."""
    fig, (ax,) = plotting.figure(1, panel_size=(9.0 + 0.4 * len(seeds), 0.45 * len(decided) + 1.4))
    for row, d in enumerate(decided):
        for col, seed in enumerate(seeds):
            held = seed in d["held"]
            ax.scatter(col, row, s=90, marker="o", color="#17702a" if held else "white",
                       edgecolors="#17702a" if held else "#b00020", linewidths=1.5)
        ax.text(len(seeds) - 0.4, row, f"{len(d['held'])}/{len(seeds)} {d['verdict'].status}", va="center",
                fontsize=8, color="#17702a" if d["verdict"].passed else "#b00020")
    ax.set_yticks(range(len(decided)), [_short(d["verdict"].claim) for d in decided], fontsize=8)
    ax.set_xticks(range(len(seeds)), [str(s) for s in seeds])
    ax.set_xlim(-0.5, len(seeds) + 0.8), ax.set_ylim(len(decided) - 0.5, -0.5)
    ax.set_xlabel(f"seed (filled: the claim held; {aggregate.rule(len(seeds))})", fontsize=8)
    return plotting.save(fig, folder, "seeds", title=f"{name}: the seeds where each claim held")


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"
