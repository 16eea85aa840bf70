"""Helpers of the bad-input suite (imported as ``badinput_helpers``): run a command in-process, make earlier runs."""
import io
import os
from contextlib import redirect_stderr, redirect_stdout

import numpy

from gradkit.cli import main


def run_cli(argv):
    """``(exit status, stdout, stderr)`` of ``gradkit ARGV`` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), numpy.errstate(all="ignore"):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as stop:   # argparse
            code = stop.code
    return code, out.getvalue(), err.getvalue()


def trainer_for(model="mlp", optimizer="adam", seed=0, **hyper):
    """The Trainer ``gradkit train --model MODEL --optimizer OPTIMIZER`` builds (no training)."""
    from gradkit import optim
    from gradkit.train import Trainer
    from gradkit.train.cli import build_model
    net = build_model(model, numpy.random.default_rng(seed))
    return Trainer(net, optim.create(optimizer, net.parameters(), **hyper), rng=numpy.random.default_rng(seed + 1))


def earlier_run(folder, **checkpoint_changes):
    """A folder holding an earlier run of ``gradkit train`` (mlp, Adam, batch 100 on mnist-10k):
    history files and last/best checkpoints. Returns ``{name: bytes}`` of what must survive."""
    from gradkit.data import ArrayDataset
    from gradkit.train import checkpoint as ckpt
    os.makedirs(folder, exist_ok=True)
    trainer = trainer_for()
    # a loader with the run's batch size and data size, so that --resume finds a matching position
    trainer._train_loader = trainer._loader(ArrayDataset(numpy.zeros((8000, 1, 28, 28), numpy.float32),
                                                         numpy.zeros(8000, numpy.int64)), 100, True, rng=trainer.rng)
    state = trainer.state_dict()
    state["epoch"] = 1
    state.update(checkpoint_changes)
    for name in ("last.safetensors", "best.safetensors"):
        ckpt.save(os.path.join(folder, name), state)
    with open(os.path.join(folder, "history.jsonl"), "w") as f:
        f.write('{"epoch": 1, "loss": 0.3, "val_accuracy": 0.93}\n')
    with open(os.path.join(folder, "history.csv"), "w") as f:
        f.write("epoch,loss,val_accuracy\n1,0.3,0.93\n")
    return {name: open(os.path.join(folder, name), "rb").read() for name in os.listdir(folder)}
