"""Run experiments: configure, run with a seeded generator, plot, check, and write results.json."""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from dataclasses import dataclass

import numpy

from . import progress, registry


@dataclass
class Outcome:
    """What one run produced (also written to ``<out>/<name>/results.json``)."""
    name: str
    size: str
    config: dict
    results: dict
    verdicts: list
    figures: list
    seconds: float
    folder: str

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)


def jsonable(value):
    """Numbers, arrays, tuples and dataclasses as plain JSON values (non-finite floats kept as NaN/Infinity)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, numpy.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (numpy.floating, float)):
        return float(value)
    if isinstance(value, (numpy.integer,)):
        return int(value)
    if isinstance(value, (numpy.bool_,)):
        return bool(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    return value


def run_experiment(name: str, out: str, size: str = "full", seed: int = 0, data: str | None = None,
                   plot: bool = True, **overrides) -> Outcome:
    """Run one experiment at ``size`` ("full", "quick", "tiny" or "broken") and save everything in ``out/name``.

    ``data`` and ``overrides`` replace fields of the config that has them. The generator is
    ``numpy.random.default_rng(seed)``: the same seed gives the same numbers."""
    exp, config, results, verdicts, seconds = measure(name, size, seed, data, **overrides)
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    figures = [os.path.relpath(p, folder) for p in (exp.plot(results, folder) if plot else [])]
    outcome = Outcome(name, size, jsonable(config), jsonable(results), verdicts, figures, seconds, folder)
    _write_json(outcome, exp, seed)
    return outcome


def measure(name: str, size: str = "full", seed: int = 0, data: str | None = None, **overrides):
    """Run and check one experiment without writing anything: ``(experiment, config, results, verdicts,
    seconds)``. The generator is ``numpy.random.default_rng(seed)``: the same seed gives the same numbers."""
    exp = registry.get(name)
    config = exp.configure(size, data=data, **overrides)
    start = time.perf_counter()
    results = exp.run(config, numpy.random.default_rng(seed))
    seconds = time.perf_counter() - start
    return exp, config, results, list(exp.check(results)), seconds


def _write_json(outcome: Outcome, exp, seed: int) -> None:
    record = {"experiment": outcome.name, "title": exp.title, "source": exp.source, "summary": exp.summary,
              "size": outcome.size, "seed": seed, "seconds": round(outcome.seconds, 3),
              "config": outcome.config, "verdicts": [v.to_dict() for v in outcome.verdicts],
              "figures": outcome.figures, "results": outcome.results}
    write_record(outcome.folder, record)


def write_record(folder: str, record: dict) -> None:
    """Write ``record`` (with the environment added when missing) to ``folder/results.json`` atomically."""
    from ..data.atomic import atomic_write
    record.setdefault("environment", {"python": platform.python_version(), "numpy": numpy.__version__,
                                      "machine": platform.machine()})
    text = json.dumps(record, indent=1, allow_nan=True)
    with atomic_write(os.path.join(folder, "results.json")) as f:
        f.write(text.encode())


def run_many(names, out: str, size: str = "full", seed: int = 0, data: str | None = None, echo=print,
             bars: bool = True) -> list[Outcome]:
    """Run ``names`` one after another with a progress bar, echoing each verdict, then write report.html."""
    from tqdm.auto import tqdm
    from .report import write_report
    outcomes = []
    with progress.enabled(bars):
        bar = tqdm(names, desc="lab", unit="experiment", disable=not bars, dynamic_ncols=True)
        for name in bar:
            bar.set_postfix_str(name)
            outcome = run_experiment(name, out, size=size, seed=seed, data=data)
            outcomes.append(outcome)
            lines = [f"{'PASS' if outcome.passed else 'FAIL'}  {name}  ({outcome.seconds:.1f} s)"]
            lines += [f"    {v.status}  {v.claim}: {v.measured}" for v in outcome.verdicts]
            (bar.write if bars else echo)("\n".join(lines))
    path = write_report(out)
    echo(f"report: {path}")
    return outcomes
