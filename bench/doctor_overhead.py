"""What the doctor costs: training steps with ``DoctorCallback(every=10)`` against the same steps without.

    python -m bench.doctor_overhead [--threads 1] [--repeats 9]

One timed unit is a block of 10 training steps (forward, backward, SGD step; batch 100, float32) on
fixed MNIST batches, so each block holds exactly one probed step and nine plain ones, as a long run
does; the callback's live rule evaluation after each probe is included. Plain and probed blocks are
interleaved (A B A B ...) so the machine's noise falls on both; the ratio of the minima (the least
disturbed blocks) is printed beside the ratio of the medians, for a busy machine. Target (issue 7): <= 20 % extra time
per step. Not a timed test: the figure goes into the report and bench/README.md.
"""
from __future__ import annotations

import argparse
import io



def _model(name: str, rng):
    from gradkit import nn
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.models.mlp(784, [100] * 4, 10, rng=rng))
    return nn.models.lenet5(rng=rng)


def _contestants(name: str, steps: int = 10):
    import gradkit as gk
    from gradkit import optim
    from gradkit.doctor import DoctorCallback
    train, _ = gk.data.load("mnist-10k")
    loader = gk.data.DataLoader(train, batch_size=100, shuffle=True, rng=0)
    batches = [batch for _, batch in zip(range(steps), loader)]

    def make(with_doctor: bool):
        model = _model(name, 0)
        trainer = gk.train.Trainer(model, optim.SGD(model.parameters(), lr=0.01))
        callbacks = []
        if with_doctor:
            doctor = DoctorCallback(every=steps, warn=True, summary=False, stream=io.StringIO())
            doctor.trainer = trainer
            doctor.on_train_begin({})
            callbacks.append(doctor)

        def block():  # the Trainer's per-step path: callbacks around train_step
            for i, (x, y) in enumerate(batches):
                for c in callbacks:
                    c.on_batch_begin(i, {})
                logs = trainer.train_step(x, y)
                trainer.global_step += 1
                for c in callbacks:
                    c.on_batch_end(i, logs)
        return block

    return {"plain": make(False), "doctor every 10": make(True)}


def main(argv=None) -> int:
    from gradkit.threads import num_threads
    from .timing import interleaved
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    print("| model | plain (ms/step, median) | with doctor every 10 (ms/step) | extra per step (medians) | "
          "extra per step (minima) |")
    print("| --- | --- | --- | --- | --- |")
    with num_threads(args.threads):
        for name in ("mlp", "lenet5"):
            results = interleaved(_contestants(name), repeats=args.repeats, inner=1, warmup=2)
            plain, doctor = results["plain"], results["doctor every 10"]
            print(f"| {name} | {plain['median'] * 100:.2f} | {doctor['median'] * 100:.2f} | "
                  f"{doctor['median'] / plain['median'] - 1:+.1%} | {doctor['min'] / plain['min'] - 1:+.1%} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
