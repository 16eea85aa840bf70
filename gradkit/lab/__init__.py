"""The lab: each classic experiment of the source articles as a named, seeded configuration that
regenerates its figures and checks its result (``gradkit lab run all --quick``).

    >>> from gradkit import lab
    >>> lab.names()[:2]
    ['optimizer-paths', 'optimizers']
    >>> outcome = lab.run_experiment("optimizer-paths", out="runs", size="quick")  # doctest: +SKIP
    >>> outcomes = lab.run_seeds(["optimizer-paths"], "runs", seeds=[0, 1, 2], workers=2)  # doctest: +SKIP
"""
from .registry import Experiment, Verdict, experiment, get, names
from .runner import Outcome, run_experiment, run_many
from .report import write_report
from .seeds import run_seeds

__all__ = ["Experiment", "Verdict", "experiment", "get", "names", "Outcome", "run_experiment", "run_many",
           "run_seeds", "write_report"]
