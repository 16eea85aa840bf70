"""Training steps of whole models against PyTorch, same inputs, same weights, same threads.

    python -m bench.models [--threads N] [--repeats R]

Workloads (float32, batch 100, cross-entropy, forward + backward + optimiser step):
  * MLP 784-100x4-10 with ReLU and SGD (issue 3 target: <= 1x PyTorch);
  * LeNet-5 (conv5x5(6, pad 2)-pool-conv5x5(16)-pool-120-84-10) with Adam (target: <= 2x now,
    <= 1x in issue 9);
  * the Adam step alone over LeNet-5's parameters, as a share of a LeNet-5 training step
    (issue 4 target: < 5%).
"""
from __future__ import annotations

import argparse
import os


def _pin_threads(threads: int | None) -> None:
    """Pin BLAS and torch to ``threads`` before numpy is imported (its pools start at import)."""
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(threads)


def _data(batch: int, shape, seed: int = 0):
    import numpy
    rng = numpy.random.default_rng(seed)
    return rng.random((batch,) + tuple(shape), dtype=numpy.float32), rng.integers(0, 10, batch)


def _copy_weights(gk_model, torch_model):
    """Give the torch twin gradkit's initial weights (same names in both state dicts)."""
    import torch
    state = {k: torch.tensor(v.numpy()) for k, v in gk_model.state_dict().items()}
    torch_model.load_state_dict(state)


def _torch_mlp(sizes=(784, 100, 100, 100, 100, 10), batch_norm: bool = False, dropout: float = 0.0):
    """The twin of ``Sequential(Flatten(), *gradkit.nn.models.mlp(...))``: Linear [-> BatchNorm1d] -> ReLU
    [-> Dropout] per hidden width, then a last Linear (same layer indices, so the state dicts agree)."""
    import torch.nn as tnn
    layers = [tnn.Flatten()]
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers.append(tnn.Linear(a, b, bias=not batch_norm))
        if batch_norm:
            layers.append(tnn.BatchNorm1d(b))
        layers.append(tnn.ReLU())
        if dropout:
            layers.append(tnn.Dropout(dropout))
    layers.append(tnn.Linear(sizes[-2], sizes[-1]))
    return tnn.Sequential(*layers)


def _torch_lenet():
    import torch.nn as tnn
    return tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                          tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                          tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))


def _steps(gk_model, gk_opt, torch_model, torch_opt, x, y):
    import torch
    import gradkit as gk
    from gradkit import functional as F
    gx, gy = gk.Tensor(x), gk.Tensor(y)
    tx, ty = torch.tensor(x), torch.tensor(y)

    def gk_step():
        loss = F.cross_entropy(gk_model(gx), gy)
        gk_opt.zero_grad()
        loss.backward()
        gk_opt.step()
        return loss

    def torch_step():
        loss = torch.nn.functional.cross_entropy(torch_model(tx), ty)
        torch_opt.zero_grad()
        loss.backward()
        torch_opt.step()
        return loss

    # same start, same data: the first losses must agree before anything is timed
    a, b = gk_step().item(), torch_step().item()
    if abs(a - b) > 1e-4 * max(1.0, abs(b)):
        raise AssertionError(f"gradkit and torch disagree on the first loss: {a} vs {b}")
    return gk_step, torch_step


def run(threads: int | None = None, repeats: int = 7) -> dict:
    import torch
    from gradkit import nn, optim
    from .timing import interleaved

    if threads:
        torch.set_num_threads(threads)
    results = {}

    x, y = _data(100, (1, 28, 28))
    gk_mlp = nn.Sequential(nn.Flatten(), *nn.models.mlp(784, [100] * 4, 10, init=None, rng=0))
    th_mlp = _torch_mlp()
    _copy_weights(gk_mlp, th_mlp)
    gk_step, th_step = _steps(gk_mlp, optim.SGD(gk_mlp.parameters(), lr=0.01), th_mlp,
                              torch.optim.SGD(th_mlp.parameters(), lr=0.01), x, y)
    results["mlp"] = interleaved({"gradkit": gk_step, "pytorch": th_step}, repeats=repeats, inner=30)

    gk_lenet = nn.models.lenet5(rng=0)
    th_lenet = _torch_lenet()
    _copy_weights(gk_lenet, th_lenet)
    gk_opt = optim.Adam(gk_lenet.parameters(), lr=1e-3)
    gk_step, th_step = _steps(gk_lenet, gk_opt, th_lenet, torch.optim.Adam(th_lenet.parameters(), lr=1e-3), x, y)
    results["lenet5"] = interleaved({"gradkit": gk_step, "pytorch": th_step, "gradkit Adam step only": gk_opt.step},
                                    repeats=repeats, inner=5)
    return results


def report(results: dict) -> str:
    from .timing import table
    mlp, lenet = results["mlp"], results["lenet5"]
    adam_share = lenet["gradkit Adam step only"]["median"] / lenet["gradkit"]["median"]
    return "\n\n".join([
        "MLP 784-100x4-10, ReLU, SGD, batch 100 (training step)\n\n" + table(mlp, "pytorch"),
        "LeNet-5, Adam, batch 100 (training step)\n\n" + table(lenet, "pytorch"),
        f"Adam step over LeNet-5's parameters: {adam_share:.1%} of a gradkit LeNet-5 training step",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="threads for BLAS and torch (default: library's)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    _pin_threads(args.threads)
    results = run(args.threads, args.repeats)
    print(report(results))
    return results


if __name__ == "__main__":
    main()
