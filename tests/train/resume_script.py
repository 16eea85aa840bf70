"""A training run for the resume tests, run as a subprocess so it can really be killed.

    python resume_script.py OUT_DIR EPOCHS MODE [RESUME]

MODE "straight" trains EPOCHS epochs. MODE "kill-after-2" writes OUT_DIR/ready after epoch 2's
checkpoint and then waits to be killed with SIGKILL. MODE "interrupt" writes OUT_DIR/ready in the
middle of epoch 2 and waits for Ctrl-C (SIGINT), which must save a checkpoint and end cleanly.
At the end of a run the final weights go to OUT_DIR/final.npz.
"""
import os
import sys
import time

import numpy

import gradkit as gk
from gradkit import nn, optim
from gradkit.train import Callback, Checkpoint, Trainer


def make_run(seed: int = 0):
    train, _ = gk.data.load("mnist-10k")
    train = train.subset(numpy.arange(600))
    model = nn.Sequential(nn.Flatten(), nn.models.mlp(784, [32, 32], 10, dropout=0.2, rng=seed))
    return model, optim.Adam(model.parameters(), lr=1e-3), train


class Pause(Callback):
    """Announce readiness at a chosen point, then wait for a signal."""

    def __init__(self, folder, mode):
        self.folder, self.mode = folder, mode

    def _wait(self):
        open(os.path.join(self.folder, "ready"), "w").close()
        deadline = time.time() + 60
        while not self.trainer.interrupted and time.time() < deadline:
            time.sleep(0.01)

    def on_batch_end(self, batch, logs):
        if self.mode == "interrupt" and self.trainer.epoch == 1 and batch == 2:
            self._wait()

    def on_epoch_end(self, epoch, logs):
        if self.mode == "kill-after-2" and epoch == 1:
            self._wait()


def main(folder, epochs, mode, resume=None):
    model, opt, train = make_run()
    callbacks = [Checkpoint(folder, save_best=False)]
    if mode != "straight":
        callbacks.append(Pause(folder, mode))  # after Checkpoint: the epoch's file is on disk first
    trainer = Trainer(model, opt, rng=1)
    trainer.fit(train, epochs=epochs, batch_size=50, callbacks=callbacks, verbose=False, resume=resume)
    if not trainer.interrupted:
        numpy.savez(os.path.join(folder, "final.npz"), **{k: v.numpy() for k, v in model.state_dict().items()})
    print("interrupted" if trainer.interrupted else "finished", trainer.global_step, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
