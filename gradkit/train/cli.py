"""``gradkit train``: train a model on a data set from the command line.

    gradkit train --model lenet5 --data fashion-mnist --optimizer adam --lr 1e-3 --epochs 5 --out runs/lenet
    gradkit train ... --resume            # continue from runs/lenet/last.safetensors

Inputs are standardised with the training set's mean and std (--no-normalize feeds raw [0, 1]
pixels). DIR receives history.jsonl, history.csv, last.safetensors (every epoch and on Ctrl-C),
best.safetensors (best validation accuracy) and history.png; checkpoints are gradkit.save files
(safetensors). --resume also reads last.npz, the checkpoint of gradkit 0.1. Every option is checked
before anything in DIR changes; one run at a time writes into DIR (a lock file, .gradkit.lock).
A NaN or Inf loss stops the run with where it came from (--on-nonfinite warn trains on).
"""
from __future__ import annotations

import os
import sys

from ..argtypes import natural, out_folder, positive_float, positive_int
from ..errors import ArgumentError
from .callbacks import Callback


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
        raise ArgumentError(f"--model: unknown model {name!r}; choose one of {', '.join(builders)}")
    return builders[name]()


MODELS = ("mlp", "mlp-100x4", "lenet5", "deep-plain", "deep-residual", "deep-highway")


def _resume_path(out: str) -> str:
    """The checkpoint ``--resume`` continues from: last.safetensors, else gradkit 0.1's last.npz."""
    from .callbacks import LAST
    for name in (LAST, "last.npz"):
        if os.path.exists(os.path.join(out, name)):
            return os.path.join(out, name)
    raise ArgumentError(f"--resume: {os.path.join(out, LAST)} does not exist (no earlier run in {out})")


class _NewLearningRate(Callback):
    """Set every group's lr after a resumed checkpoint has restored its own."""

    def __init__(self, lr):
        self.lr = lr

    def on_train_begin(self, logs):
        for group in self.trainer.optimizer.param_groups:
            group["lr"] = self.lr


def run(args) -> int:
    import numpy

    from .. import data, optim
    from ..data.atomic import FolderLock
    from . import Checkpoint, History, Trainer
    from .plot import plot_history

    data.datasets.get_spec(args.data)          # an unknown name fails before anything else
    rng = numpy.random.default_rng(args.seed)
    train, test = data.load(args.data)
    if args.normalize:  # standardise with the training set's statistics, the same for train and test
        pixels = train.images.astype(numpy.float64) / 255.0
        standardise = data.transforms.Normalize(pixels.mean(), pixels.std())
        train.transform = test.transform = standardise
    model = build_model(args.model, rng)
    hyper = {"lr": args.lr} if args.lr is not None else {}
    optimizer = optim.create(args.optimizer, model.parameters(), **hyper)
    trainer = Trainer(model, optimizer, rng=numpy.random.default_rng(args.seed + 1), on_nonfinite=args.on_nonfinite)
    callbacks = []
    with FolderLock(args.out, "gradkit train"):
        resume = _resume_path(args.out) if args.resume else None
        lr = optimizer.param_groups[0]["lr"]
        if resume is not None:  # every mismatch is found before training starts
            trainer._train_loader = trainer._loader(train, args.batch_size, True, rng=trainer.rng)
            state = trainer.check_checkpoint(resume)
            saved_lr = state["optimizer"]["param_groups"][0].get("lr")
            if args.lr is not None and saved_lr != args.lr:
                print(f"resuming with lr={args.lr} as asked (the checkpoint was at lr={saved_lr})", flush=True)
                callbacks.append(_NewLearningRate(args.lr))
            elif saved_lr is not None:
                lr = saved_lr
        history = History(jsonl=os.path.join(args.out, "history.jsonl"), csv_path=os.path.join(args.out, "history.csv"))
        checkpoint = Checkpoint(args.out, monitor="val_accuracy")
        print(f"training {args.model} on {args.data} ({len(train)} train, {len(test)} test) with "
              f"{type(optimizer).__name__} lr={lr} for {args.epochs} epochs", flush=True)
        trainer.fit(train, epochs=args.epochs, batch_size=args.batch_size, val=test,
                    callbacks=[history, checkpoint, *callbacks], resume=resume)
    if trainer.interrupted:
        print(f"interrupted at epoch {trainer.epoch + 1}, batch {trainer.batch}: saved {checkpoint.last_path}; "
              f"continue with the same command and --resume", file=sys.stderr)
        return 130
    print(_table(history.epochs))
    if history.epochs:
        figure = plot_history(history.epochs, os.path.join(args.out, "history.png"), title=f"{args.model} on {args.data}")
        print(f"wrote {figure}, {history.jsonl}, {history.csv_path}, {checkpoint.last_path}")
    return 0


def _table(epochs: list[dict]) -> str:
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "time"]
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for r in epochs:
        lines.append("| " + " | ".join(f"{r[c]:.4f}" if isinstance(r.get(c), float) else str(r.get(c, ""))
                                       for c in columns) + " |")
    return "\n".join(lines)


def _data_name(text: str) -> str:
    import argparse

    from ..data import datasets
    if text not in datasets.names():
        raise argparse.ArgumentTypeError(f"unknown data set {text!r}; known: {', '.join(datasets.names())}")
    return text


def register(verbs) -> None:
    from ..optim import OPTIMIZERS
    p = verbs.add_parser("train", help="train a model on a data set", description=__doc__,
                         formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mlp", choices=MODELS)
    p.add_argument("--data", type=_data_name, default="mnist-10k", help="mnist-10k (bundled), fashion-mnist or mnist")
    p.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS))
    p.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default: the optimiser's; with --resume, replaces the checkpoint's)")
    p.add_argument("--epochs", type=positive_int, default=5, help="total epochs, counting those of a resumed run")
    p.add_argument("--batch-size", type=positive_int, default=100)
    p.add_argument("--seed", type=natural, default=0)
    p.add_argument("--out", type=out_folder, default="runs/train", help="folder for history, checkpoints and the figure")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.safetensors")
    p.add_argument("--on-nonfinite", choices=("stop", "warn"), default="stop",
                   help="a NaN/Inf loss stops the run (default) or warns once and trains on")
    p.add_argument("--no-normalize", dest="normalize", action="store_false",
                   help="feed pixels in [0, 1] instead of standardising them with the training set's mean and std")
    p.set_defaults(handler=run)
