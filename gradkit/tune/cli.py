"""``gradkit tune``: search hyperparameters on a validation split.

    gradkit tune --trials 100 --sampler random --out runs/tune          # the book's search (chapter 6.5)
    gradkit tune --lr 1e-6:1e-2:log --weight-decay 1e-8:1e-4:log --trials 100 --sampler tpe
    gradkit tune --space space.json --workers 2 --storage sqlite:///runs/study.db --study mine
    gradkit tune ... --storage postgresql://user@host/db --study mine   # on each machine: one study

Ranges: LOW:HIGH (uniform), LOW:HIGH:log, LOW:HIGH:int, LOW:HIGH:int-log, or a,b,c (choices);
--param NAME=RANGE for any other name (width, depth, batch_size, optimizer, activation, dropout).
Without ranges the book's space is searched: lr 10^U(-6,-2), weight decay 10^U(-8,-4).
Rerunning a command with the same storage and study continues it up to --trials. OUT receives
study.db (the default storage), trials.csv, trials.json, best.md, history.png, scatter.png and,
with --narrow K, narrowed_space.json: the bounds of the K best trials, for a second round.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from ..argtypes import existing_file, fraction, natural, out_folder, positive_int

BOOK_SPACE = {"lr": "1e-6:1e-2:log", "weight_decay": "1e-8:1e-4:log"}


def _space(args) -> dict:
    from ..errors import ArgumentError
    from .objective import check_parameters
    from .space import check_values, load_space, parse_range, parse_space
    flags, labels = {}, {}
    for name, value in (("lr", args.lr), ("weight_decay", args.weight_decay), ("momentum", args.momentum)):
        if value is not None:
            flags[name], labels[name] = value, "--" + name.replace("_", "-")
    for item in args.param:
        if "=" not in item:
            raise ArgumentError(f"--param expects NAME=RANGE, got {item!r}")
        name, text = item.split("=", 1)
        name = name.strip().replace("-", "_")
        flags[name], labels[name] = text, f"--param {name}"
    space = load_space(args.space) if args.space else {}
    for name, text in flags.items():
        try:
            space[name] = parse_range(name, text)
        except ValueError as error:
            raise ArgumentError(f"{labels[name]}: {str(error).removeprefix(f'space: {name}: ')}") from None
    space = space or parse_space(BOOK_SPACE)
    try:
        check_parameters(space)
    except ValueError as error:
        raise ArgumentError(str(error)) from None
    return check_values(space, labels)


def run(args) -> int:
    from . import report
    from .objective import Setup
    from .search import search
    from .space import narrow, space_to_json

    from ..errors import ArgumentError
    from .search import make_sampler
    # everything is checked before the search creates its study (nothing is left behind on bad input)
    space = _space(args)
    try:
        setup = Setup(model=args.model, data=args.data, samples=None if args.samples == 0 else args.samples,
                      val_fraction=args.val_fraction, depth=args.depth, width=args.width, optimizer=args.optimizer,
                      batch_size=args.batch_size, epochs=args.epochs, seed=args.seed)
    except ValueError as error:
        raise ArgumentError(str(error)) from None
    make_sampler(args.sampler, args.seed)      # a missing optional package is named now
    try:
        if args.workers > 1:
            print(f"starting {args.workers} worker processes", file=sys.stderr)
        study = search(space, setup, trials=args.trials, sampler=args.sampler, storage=args.storage,
                       study=args.study, workers=args.workers, seed=args.seed, prune=args.prune, out=args.out,
                       progress=True, heartbeat=args.heartbeat, grace=args.grace)
    except ValueError as error:   # tune.search's checks of the storage, study and workers
        raise ArgumentError(str(error)) from None
    except KeyboardInterrupt:
        print("interrupted: the interrupted trial is marked and will be redone; rerun the same command to "
              "continue", file=sys.stderr)
        return 130
    title = f"{study.study_name}: {setup.model} on {setup.data}, {args.sampler}"
    saved = report.save(study, space, args.out, title=title, k=args.top)
    print(saved["table"])
    if args.narrow:
        narrowed = space_to_json(narrow(study.trials, space, top_k=args.narrow))
        path = os.path.join(args.out, "narrowed_space.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(narrowed, f, indent=1)
        saved["files"].append(path)
        print(f"narrowed by the {args.narrow} best trials: {json.dumps(narrowed)}")
    print("wrote " + ", ".join(saved["files"]))
    return 0


def register(verbs) -> None:
    from ..optim import OPTIMIZERS
    from ..train.cli import MODELS, _data_name
    from .storage import GRACE_S, HEARTBEAT_S
    p = verbs.add_parser("tune", help="search hyperparameters on a validation split (random, TPE, GP)",
                         description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    space = p.add_argument_group("search space")
    space.add_argument("--space", type=existing_file, help="JSON file: {name: range string | [choices] | {type, low, high}}")
    space.add_argument("--lr", help="learning-rate range, e.g. 1e-6:1e-2:log")
    space.add_argument("--weight-decay", help="weight-decay range, e.g. 1e-8:1e-4:log")
    space.add_argument("--momentum", help="momentum range, e.g. 0:0.99")
    space.add_argument("--param", action="append", default=[], metavar="NAME=RANGE", help="any other dimension")
    trial = p.add_argument_group("each trial (defaults: the book's set-up)")
    trial.add_argument("--model", default="mlp", choices=("mlp",) + tuple(m for m in MODELS if m != "mlp"),
                       help="mlp: DEPTH x WIDTH ReLU layers, He init")
    trial.add_argument("--data", type=_data_name, default="mnist-10k", help="mnist-10k (bundled), fashion-mnist or mnist")
    trial.add_argument("--samples", type=natural, default=500, help="training images used (0: all)")
    trial.add_argument("--val-fraction", type=fraction, default=0.2, help="share of them held out for validation")
    trial.add_argument("--depth", type=natural, default=6)
    trial.add_argument("--width", type=positive_int, default=100)
    trial.add_argument("--optimizer", default="sgd", choices=sorted(OPTIMIZERS))
    trial.add_argument("--batch-size", type=positive_int, default=100)
    trial.add_argument("--epochs", type=positive_int, default=50)
    run_group = p.add_argument_group("the search")
    run_group.add_argument("--trials", type=positive_int, default=100, help="trials in the study, counting earlier runs")
    run_group.add_argument("--sampler", default="tpe", choices=("random", "tpe", "gp"))
    run_group.add_argument("--no-prune", dest="prune", action="store_false", help="train every trial to the end")
    run_group.add_argument("--storage", help="SQLAlchemy URL or file (default: sqlite:///OUT/study.db)")
    run_group.add_argument("--study", help="study name (default: MODEL-DATA); the same name joins the study")
    run_group.add_argument("--workers", type=positive_int, default=1, help="local worker processes")
    run_group.add_argument("--heartbeat", type=positive_int, default=HEARTBEAT_S, help="seconds between a trial's heartbeats")
    run_group.add_argument("--grace", type=positive_int, default=GRACE_S, help="silent seconds after which a trial is failed")
    run_group.add_argument("--seed", type=natural, default=0)
    run_group.add_argument("--out", type=out_folder, default="runs/tune")
    run_group.add_argument("--top", type=positive_int, default=10, help="rows of the best-trials table")
    run_group.add_argument("--narrow", type=natural, default=0, metavar="K",
                           help="write the bounds of the K best trials to OUT/narrowed_space.json")
    p.set_defaults(handler=run)
