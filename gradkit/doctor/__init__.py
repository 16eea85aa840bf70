"""The doctor: diagnose why a network does not train, explain it, and try the remedies.

    >>> import gradkit as gk
    >>> report = gk.doctor.diagnose(model, train, optimizer=opt, steps=150, val=test)
    >>> print(report)                    # findings with evidence, explanation, ranked remedies
    >>> report.names                     # e.g. ["vanishing_gradients"]
    >>> trainer.fit(train, callbacks=[gk.doctor.DoctorCallback(every=10)])

Layout (docs/architecture.md, floor 3): ``probes`` (quantities), ``schedule`` (when to measure), ``recorder``
(hooks), ``rules`` (findings and their thresholds), ``report`` and ``figures`` (instruments),
``setups`` (a frozen training set-up), ``scenarios`` (broken set-ups and their healthy twins),
``remedies`` (the remedy runner), ``cli`` (``gradkit doctor``).
"""
from . import probes, rules
from .doctor import DoctorCallback, diagnose, evaluate, locate_nonfinite, make_report
from .recorder import Recorder
from .report import Finding, Report
from .schedule import Schedule
from .setups import Setup, build

__all__ = ["diagnose", "DoctorCallback", "Report", "Finding", "Recorder", "Schedule", "Setup", "build", "probes",
           "rules", "evaluate", "locate_nonfinite", "make_report"]
