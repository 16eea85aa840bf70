"""The lab's registry: every experiment is a frozen config plus ``run``, ``plot`` and ``check``.

An experiment module in ``gradkit/lab/experiments/`` declares itself with :func:`experiment`::

    @dataclass(frozen=True)
    class Config:
        steps: int = 30

    def run(config, rng) -> dict: ...          # every number the experiment measured (JSON-able)
    def plot(results, folder) -> list[str]: ... # PNG files written into folder, nothing shown
    def check(results) -> list[Verdict]: ...    # PASS / FAIL with the measured numbers

    EXPERIMENT = experiment("optimizer-paths", title=..., source=..., config=Config(),
                            quick=Config(steps=10), tiny=Config(steps=3), run=run, plot=plot, check=check)

``config`` is the full run (the published set-up), ``quick`` about ten times cheaper and still
meaningful (its verdicts must PASS), ``tiny`` the smallest that exercises every code path (used by the
tests; its verdicts may say anything), ``broken`` (optional) a deliberately wrong set-up whose check
must FAIL: the proof that the check can fail.
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Verdict:
    """One checked claim: ``passed`` with the ``measured`` numbers and the ``expected`` outcome in words.

    ``numbers`` holds the measured values that decided it as ``(label, value)`` pairs (one for a
    threshold, two for a comparison), so a run over several seeds can give their mean and spread."""
    claim: str
    passed: bool
    measured: str
    expected: str
    numbers: tuple = ()

    @property
    def status(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def to_dict(self) -> dict:
        return {"claim": self.claim, "status": self.status, "measured": self.measured, "expected": self.expected}


@dataclass(frozen=True)
class Experiment:
    """A registered experiment (see the module docstring)."""
    name: str
    title: str
    source: str
    order: int
    config: Any
    quick: Any
    tiny: Any
    run: Callable
    plot: Callable
    check: Callable
    broken: Any = None
    summary: str = ""

    def configure(self, size: str = "full", **overrides):
        """The ``full``, ``quick``, ``tiny`` or ``broken`` config with fields replaced by ``overrides``
        (only those the config has; ``None`` values are ignored)."""
        base = {"full": self.config, "quick": self.quick, "tiny": self.tiny, "broken": self.broken}.get(size)
        if base is None:
            raise ValueError(f"experiment {self.name!r} has no {size!r} config "
                             f"(sizes: full, quick, tiny{', broken' if self.broken is not None else ''})")
        fields = {f.name for f in dataclasses.fields(base)}
        return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None and k in fields})


_REGISTRY: dict[str, Experiment] = {}
_DISCOVERED = False


def experiment(name: str, *, title: str, source: str, order: int, config, quick, tiny, run, plot, check,
               broken=None, summary: str = "") -> Experiment:
    """Register an experiment under ``name`` and return it."""
    for label, value in (("config", config), ("quick", quick), ("tiny", tiny), ("broken", broken)):
        if value is not None and not (dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen):
            raise TypeError(f"experiment {name!r}: {label} must be an instance of a frozen dataclass, got {value!r}")
    if name in _REGISTRY and _REGISTRY[name].run is not run:
        raise ValueError(f"experiment {name!r} is registered twice")
    if not summary:  # the declaring module's docstring, second paragraph: what the experiment shows
        import sys
        doc = getattr(sys.modules.get(getattr(run, "__module__", "")), "__doc__", None) or ""
        paragraphs = doc.split("\n\n")
        summary = " ".join(paragraphs[1].split()) if len(paragraphs) > 1 else ""
    entry = Experiment(name, title, source, order, config, quick, tiny, run, plot, check, broken, summary)
    _REGISTRY[name] = entry
    return entry


def _discover() -> None:
    """Import every module of gradkit.lab.experiments once (each registers itself)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    from . import experiments
    for module in pkgutil.iter_modules(experiments.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{experiments.__name__}.{module.name}")
    _DISCOVERED = True


def names() -> list[str]:
    """Registered experiment names, in the order of the lab's list."""
    _discover()
    return [e.name for e in sorted(_REGISTRY.values(), key=lambda e: (e.order, e.name))]


def get(name: str) -> Experiment:
    """The experiment called ``name``; a KeyError lists the known names."""
    _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no lab experiment called {name!r}; known: {', '.join(names())}") from None
