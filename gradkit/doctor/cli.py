"""``gradkit doctor``: diagnose a scenario or a set-up given field by field, and try the remedies.

    gradkit doctor --list                                   # the scenario zoo, one line each
    gradkit doctor --model deep-sigmoid --try-fixes --out runs/doctor
    gradkit doctor --model deep-sigmoid:depth=15,activation=tanh
    gradkit doctor --model custom:depth=8,activation=sigmoid,init=normal:1.0,optimizer=sgd,lr=0.1
    gradkit doctor [--out DIR] run train.py [ARGS...]     # watch your own training script (PyTorch or gradkit)

OUT receives report.txt, report.json, gradient_flow.png and, with --try-fixes, remedies.txt and
remedies.json. Set-up fields: data, n_train, n_val, architecture, depth, width, activation, init,
bias, batch_norm, dropout, optimizer, lr, weight_decay, clip, loss, batch_size, steps, seed.
"""
from __future__ import annotations

import json
import os

from ..argtypes import natural, out_folder, positive_int


def run(args) -> int:
    from ..threads import num_threads
    args.out_given = args.out is not None
    args.out = args.out or "runs/doctor"
    if args.command:
        return _run(args)   # the user's script keeps its own thread settings
    with num_threads(args.threads or None):
        return _run(args)


def _run(args) -> int:
    from . import scenarios
    if args.command:
        if args.command[0] != "run" or len(args.command) < 2:
            from ..errors import ArgumentError
            raise ArgumentError("expected 'run SCRIPT [ARGS...]', got " + " ".join(args.command))
        from .script import run_script
        return run_script(args.command[1], args.command[2:], out=args.out if args.out_given else None)
    from .remedies import try_remedies
    from .setups import diagnose_setup
    if args.list or not args.model:
        print(listing())
        return 0
    from ..errors import ArgumentError
    try:  # the whole set-up is checked before the diagnosis runs
        scenario = scenarios.get(args.model)
        changes = {k: v for k, v in (("steps", args.steps), ("seed", args.seed)) if v is not None}
        setup = scenario.setup.replace(**changes)
        _check_names(setup)
    except (ValueError, TypeError) as error:
        raise ArgumentError(f"--model {args.model}: {error}") from None
    print(f"diagnosing {scenario.name}: {setup.describe()}", flush=True)
    report = diagnose_setup(setup, title=f"{scenario.name}: {setup.describe()}")
    print(report)
    os.makedirs(args.out, exist_ok=True)
    _write(os.path.join(args.out, "report.txt"), str(report))
    _write(os.path.join(args.out, "report.json"), json.dumps(report.to_dict(), indent=1, default=_json))
    figure = report.save_figure(os.path.join(args.out, "gradient_flow.png"))
    written = [figure, os.path.join(args.out, "report.txt"), os.path.join(args.out, "report.json")]
    if args.try_fixes:
        if report.healthy:
            print("\nNo findings, so no remedies to try.")
        else:
            print("\ntrying the remedies...", flush=True)
            table = try_remedies(setup, report)
            print(table)
            _write(os.path.join(args.out, "remedies.txt"), str(table))
            _write(os.path.join(args.out, "remedies.json"), json.dumps(table.to_dict(), indent=1, default=_json))
            written += [os.path.join(args.out, "remedies.txt"), os.path.join(args.out, "remedies.json")]
    print("\nwrote " + ", ".join(written))
    return 0


def _check_names(setup) -> None:
    """Names that the set-up only looks up when it builds the model (after loading data)."""
    from .. import optim
    from ..nn import activations
    activations.get(setup.activation)
    if setup.optimizer not in optim.OPTIMIZERS:
        raise ValueError(f"unknown optimizer {setup.optimizer!r}; expected one of {', '.join(sorted(optim.OPTIMIZERS))}")


def listing() -> str:
    from . import scenarios
    lines = ["Scenarios (gradkit doctor --model NAME[:field=value,...]; 'custom:...' starts from the defaults):"]
    rows = [(name, scenarios.get(name)) for name in scenarios.names()]
    width = max(len(name) for name, _ in rows)
    finding = max(len(s.expected or "healthy") for _, s in rows)
    for name, s in rows:
        lines.append(f"  {name:{width}s} {s.expected or 'healthy':{finding}s} {s.story}")
    return "\n".join(lines)


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text + "\n")


def _json(value):
    """numpy scalars and arrays (histograms are not in the report dict; scalars may be numpy floats)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def register(verbs) -> None:
    import argparse
    p = verbs.add_parser("doctor", help="diagnose why a network does not train, and try the remedies",
                         description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="a scenario name (see --list), optionally NAME:field=value,...")
    p.add_argument("--list", action="store_true", help="list the scenarios")
    p.add_argument("--try-fixes", action="store_true", help="apply each recommended remedy to a copy and rank them")
    p.add_argument("--steps", type=positive_int, default=None, help="optimiser steps of the probe run (default: the set-up's)")
    p.add_argument("--seed", type=natural, default=None, help="seed of data, weights and batches (default: the set-up's)")
    p.add_argument("--threads", type=natural, default=1,
                   help="BLAS threads (default 1: the scenarios' networks are small, and spinning BLAS threads "
                        "slow them down on a busy machine; 0 leaves the library's default)")
    p.add_argument("--out", type=out_folder, default=None, help="folder for the report, the figure and the remedy "
                                                                "table (default runs/doctor; with 'run', only when given)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="run SCRIPT [ARGS...]: watch a training script")
    p.set_defaults(handler=run)
