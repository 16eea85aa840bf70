"""Run an unmodified training script with the doctor watching every optimiser it creates.

    python -m gradkit.doctor train.py --epochs 3          # or: gradkit doctor run train.py --epochs 3
    python -m gradkit.doctor --out runs/doc train.py      # also report.txt, report.json, gradient_flow.png

While the script runs, the optimiser base classes' ``__init__`` (``torch.optim.Optimizer`` and
``gradkit.optim.Optimizer``) is wrapped: each optimiser created opens a ``Watch`` on the model it
trains. The model is found from the optimiser's parameters: among the modules alive at that moment
(read from the garbage collector, so nothing else needs patching and modules built before the
optimiser, as they always are, are all seen), the outermost one holding the most of those parameters.
When the script ends, crashes (its traceback is printed first) or is interrupted, every watch is
closed, the wrapping undone, and the reports printed. The exit status is the script's own.
"""
from __future__ import annotations

import gc
import importlib.util
import json
import os
import runpy
import sys
import traceback
import warnings

from .watch import Watch


def _optimizer_classes(source: str) -> list:
    """The optimiser base classes to wrap: gradkit's, and torch's when the script uses torch (torch is
    imported here, before the script, only then)."""
    from ..optim import Optimizer
    classes = [Optimizer]
    if "torch" in source and importlib.util.find_spec("torch") is not None:
        import torch
        classes.append(torch.optim.Optimizer)
    return classes


def find_model(optimizer):
    """The module an optimiser trains: the outermost live module holding the most of its parameters."""
    from .adapters import is_torch
    params = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if is_torch(optimizer):
        import torch
        base = torch.nn.Module
    else:
        from ..nn import Module as base
    best, best_count, best_size = None, 0, 0
    with warnings.catch_warnings():   # isinstance on some lazy objects of a library warns
        warnings.simplefilter("ignore")
        objects = [obj for obj in gc.get_objects() if isinstance(obj, base)]
    for obj in objects:
        mine = [p for p in obj.parameters() if id(p) in params]
        size = sum(1 for _ in obj.modules())
        # most of the optimiser's parameters; among equals the largest (outermost) module
        if (len(mine), size) > (best_count, best_size):
            best, best_count, best_size = obj, len(mine), size
    return best


def run_script(path: str, args=(), every: int = 10, out: str | None = None, stream=None) -> int:
    """Run the script at ``path`` with ``args`` as its ``sys.argv[1:]``, watched; return its exit status."""
    stream = stream or sys.stderr
    if not os.path.isfile(path):
        print(f"gradkit doctor: no such script: {path}", file=stream)
        return 2
    with open(path, encoding="utf-8", errors="replace") as f:
        source = f.read()
    watches: list[Watch] = []
    originals = []

    def wrap(cls):
        original = cls.__init__

        def __init__(self, *a, **k):
            original(self, *a, **k)
            if type(self).__init__ is not __init__ and getattr(self, "_doctor_watch", None) is None:
                model = find_model(self)
                if model is not None:
                    self._doctor_watch = Watch(model, self, every, title=f"{os.path.basename(path)}: "
                                                                         f"{type(model).__name__} + {type(self).__name__}")
                    self._doctor_watch.attach()
                    watches.append(self._doctor_watch)
        cls.__init__ = __init__
        originals.append((cls, original))

    status = 0
    saved_argv, saved_path = sys.argv, list(sys.path)
    try:
        for cls in _optimizer_classes(source):
            wrap(cls)
        sys.argv = [path, *args]
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        runpy.run_path(path, run_name="__main__")
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if not isinstance(stop.code, (int, type(None))):
            print(stop.code, file=sys.stderr)
    except KeyboardInterrupt:
        print("gradkit doctor: the script was interrupted", file=stream)
        status = 130
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        for cls, original in reversed(originals):
            cls.__init__ = original
        sys.argv, sys.path[:] = saved_argv, saved_path
        for w in watches:
            w.detach()
    _print_reports(watches, out, stream)
    return status


def _print_reports(watches, out, stream) -> None:
    from .cli import _json, _write
    if not watches:
        print("gradkit doctor: the script created no optimiser, so there was no training to watch", file=stream)
        return
    for i, w in enumerate(watches):
        report = w.report()
        print("\n" + str(report), file=stream, flush=True)
        if out:
            os.makedirs(out, exist_ok=True)
            suffix = "" if len(watches) == 1 else f"_{i + 1}"
            _write(os.path.join(out, f"report{suffix}.txt"), str(report))
            _write(os.path.join(out, f"report{suffix}.json"), json.dumps(report.to_dict(), indent=1, default=_json))
            if w.recorder.probes:
                report.save_figure(os.path.join(out, f"gradient_flow{suffix}.png"))
            print(f"gradkit doctor: wrote {out}/report{suffix}.txt, .json and the figure", file=stream)


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m gradkit.doctor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=int, default=10, help="measure every this many optimiser steps (default 10)")
    parser.add_argument("--out", default=None, help="also write report.txt, report.json and the figure here")
    parser.add_argument("script", help="the training script (a .py file)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    ns = parser.parse_args(argv)
    return run_script(ns.script, ns.args, ns.every, ns.out)
