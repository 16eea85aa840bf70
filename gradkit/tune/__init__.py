"""Hyperparameter search on a validation split: random (the book's method) and Bayesian (Optuna).

    >>> from gradkit import tune
    >>> space = {"lr": tune.LogUniform(1e-6, 1e-2), "weight_decay": tune.LogUniform(1e-8, 1e-4)}
    >>> study = tune.search(space, tune.Setup(), trials=100, sampler="tpe", out="runs/tune")
    >>> narrower = tune.narrow(study.trials, space, top_k=5)        # the book's second round

Optuna (a dependency) is imported only when a search runs (``gradkit[tune]`` adds PostgreSQL's driver); studies live in a
SQLite file by default or in any SQLAlchemy database, which several machines can share.
"""
from .objective import PARAMETERS, Objective, Setup, split
from .search import SAMPLERS, Job, search, start_workers, work
from .space import Categorical, Int, LogUniform, Uniform, load_space, narrow, parse_range, parse_space
from .storage import open_storage, storage_url, sweep_stale

__all__ = ["Categorical", "Int", "Job", "LogUniform", "Objective", "PARAMETERS", "SAMPLERS", "Setup", "Uniform",
           "load_space", "narrow", "open_storage", "parse_range", "parse_space", "search", "split", "start_workers",
           "storage_url", "sweep_stale", "work"]
