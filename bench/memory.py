"""Peak memory of LeNet-5 training and the time of ``import gradkit``, each in a fresh process.

    python -m bench.memory gradkit|pytorch [--steps N]   (prints one JSON line)

A child process trains LeNet-5 (Adam, batch 100) for ``--steps`` steps on batches of Fashion-MNIST's
shape and reports its peak resident set size (the kernel's VmHWM) twice: once the framework is
imported and the batches made (``baseline``), and at the end (``peak``). ``peak`` is what the machine must
hold; ``peak - baseline`` is what training itself took (PyTorch's baseline includes its larger
libraries). ``anon_rise`` is the anonymous memory (``RssAnon``) at the end over the same point:
the rise without the pages of shared libraries that training loads late (gradkit's LLVM, through
Numba, at its first compiled loop; bench/README.md, session 9). It is the memory resident at the
end, not a peak: the kernel keeps no high-water mark of anonymous memory alone. The parent (``python -m bench``) runs each framework in its own fresh child.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from .workloads import gradkit_step, torch_step

IMPORT_SNIPPET = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def _anon_mib() -> float:
    """Anonymous memory (heap and private maps) resident now, MiB: ``RssAnon``, which leaves out the
    pages of shared libraries (``RssFile``), such as the LLVM that Numba loads."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024  # kB


def _maxrss_mib() -> float:
    """The peak resident set size of this process so far, MiB.

    VmHWM, not ``getrusage().ru_maxrss``: Linux carries ru_maxrss over from the forking parent across
    fork + exec (a child of a big parent starts at the parent's peak); VmHWM is the same high-water
    mark of this process's own memory."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB


def train_lenet(framework: str, steps: int) -> dict:
    import numpy
    import gradkit as gk
    if framework == "pytorch":  # imported before the baseline: its libraries are no part of training
        import torch
        from .models import _torch_lenet
    # synthetic batches of Fashion-MNIST's shapes: memory does not depend on the pixel values, and
    # loading the 188 MB training set would leave a peak of its own that hides training's
    rng = numpy.random.default_rng(0)
    batches = [(gk.Tensor(rng.random((100, 1, 28, 28), dtype=numpy.float32)), gk.Tensor(rng.integers(0, 10, 100)))
               for _ in range(4)]
    baseline, anon_baseline = _maxrss_mib(), _anon_mib()
    if framework == "pytorch":
        model = _torch_lenet()
        step = torch_step(model, torch.optim.Adam(model.parameters(), lr=1e-3))
    else:
        model = gk.nn.models.lenet5(rng=0)
        step = gradkit_step(model, gk.optim.Adam(model.parameters(), lr=1e-3))
    for k in range(steps):
        step(*batches[k % len(batches)])
    return {"baseline_mib": baseline, "peak_mib": _maxrss_mib(), "anon_rise_mib": _anon_mib() - anon_baseline}


def child(args: list, env: dict) -> str:
    """Run ``python args...`` in a fresh process from the repository root; its stdout, stripped."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1]


def measure_memory(framework: str, steps: int, env: dict) -> dict:
    return json.loads(child(["-m", "bench.memory", framework, "--steps", str(steps)], env))


def measure_import(module: str, env: dict) -> float:
    return float(child(["-c", IMPORT_SNIPPET.format(module=module)], env))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("framework", choices=("gradkit", "pytorch"))
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    print(json.dumps(train_lenet(args.framework, args.steps)))


if __name__ == "__main__":
    main()
