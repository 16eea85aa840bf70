"""``gradkit train``: train a model on a data set from the command line.

    gradkit train --model lenet5 --data fashion-mnist --optimizer adam --lr 1e-3 --epochs 5 --out runs/lenet
    gradkit train ... --resume            # continue from runs/lenet/last.npz

Inputs are standardised with the training set's mean and std (--no-normalize feeds raw [0, 1]
pixels). DIR receives history.jsonl, history.csv, last.npz (every epoch and on Ctrl-C), best.npz (best
validation accuracy) and history.png.
"""
from __future__ import annotations

import os
import sys


def build_model(name: str, rng):
    """The models ``gradkit train`` knows, by name, for 1x28x28 images and 10 classes."""
    from .. import nn
    builders = {
        "mlp": lambda: nn.Sequential(nn.Flatten(), nn.models.mlp(784, [256, 128], 10, rng=rng)),
        "mlp-100x4": lambda: nn.Sequential(nn.Flatten(), nn.models.mlp(784, [100] * 4, 10, rng=rng)),
        "lenet5": lambda: nn.models.lenet5(rng=rng),
        "deep-plain": lambda: nn.Sequential(nn.Flatten(), nn.models.deep_plain(20, rng=rng)),
        "deep-residual": lambda: nn.Sequential(nn.Flatten(), nn.models.deep_residual(20, rng=rng)),
        "deep-highway": lambda: nn.Sequential(nn.Flatten(), nn.models.deep_highway(20, rng=rng)),
    }
    if name not in builders:
        raise SystemExit(f"gradkit train: unknown model {name!r}; choose one of {', '.join(builders)}")
    return builders[name]()


MODELS = ("mlp", "mlp-100x4", "lenet5", "deep-plain", "deep-residual", "deep-highway")


def run(args) -> int:
    import numpy

    from .. import data, optim
    from . import Checkpoint, History, Trainer
    from .plot import plot_history

    rng = numpy.random.default_rng(args.seed)
    train, test = data.load(args.data)
    if args.normalize:  # standardise with the training set's statistics, the same for train and test
        pixels = train.images.astype(numpy.float64) / 255.0
        standardise = data.transforms.Normalize(pixels.mean(), pixels.std())
        train.transform = test.transform = standardise
    model = build_model(args.model, rng)
    hyper = {"lr": args.lr} if args.lr is not None else {}
    optimizer = optim.create(args.optimizer, model.parameters(), **hyper)
    os.makedirs(args.out, exist_ok=True)
    last = os.path.join(args.out, "last.npz")
    if args.resume and not os.path.exists(last):
        raise SystemExit(f"gradkit train: --resume but {last} does not exist")
    if not args.resume:  # a fresh run must not append to an old history
        for name in ("history.jsonl", "history.csv"):
            if os.path.exists(os.path.join(args.out, name)):
                os.remove(os.path.join(args.out, name))
    history = History(jsonl=os.path.join(args.out, "history.jsonl"), csv_path=os.path.join(args.out, "history.csv"))
    trainer = Trainer(model, optimizer, rng=numpy.random.default_rng(args.seed + 1))
    print(f"training {args.model} on {args.data} ({len(train)} train, {len(test)} test) with "
          f"{type(optimizer).__name__} lr={optimizer.param_groups[0]['lr']} for {args.epochs} epochs", flush=True)
    trainer.fit(train, epochs=args.epochs, batch_size=args.batch_size, val=test,
                callbacks=[history, Checkpoint(args.out, monitor="val_accuracy")],
                resume=last if args.resume else None)
    if trainer.interrupted:
        print(f"interrupted at epoch {trainer.epoch + 1}, batch {trainer.batch}: saved {last}; "
              f"continue with the same command and --resume", file=sys.stderr)
        return 130
    print(_table(history.epochs))
    if history.epochs:
        figure = plot_history(history.epochs, os.path.join(args.out, "history.png"), title=f"{args.model} on {args.data}")
        print(f"wrote {figure}, {history.jsonl}, {history.csv_path}, {last}")
    return 0


def _table(epochs: list[dict]) -> str:
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "time"]
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for r in epochs:
        lines.append("| " + " | ".join(f"{r[c]:.4f}" if isinstance(r.get(c), float) else str(r.get(c, ""))
                                       for c in columns) + " |")
    return "\n".join(lines)


def register(verbs) -> None:
    from ..optim import OPTIMIZERS
    p = verbs.add_parser("train", help="train a model on a data set", description=__doc__,
                         formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mlp", choices=MODELS)
    p.add_argument("--data", default="mnist-10k", help="mnist-10k (bundled), fashion-mnist or mnist")
    p.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS))
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the optimiser's)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/train", help="folder for history, checkpoints and the figure")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.npz")
    p.add_argument("--no-normalize", dest="normalize", action="store_false",
                   help="feed pixels in [0, 1] instead of standardising them with the training set's mean and std")
    p.set_defaults(handler=run)
