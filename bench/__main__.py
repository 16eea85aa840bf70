"""The benchmark suite: every workload against PyTorch 2.13 CPU, same threads, same run; writes RESULTS.md.

    GRADKIT_DATA=/work/shared/data python -m bench [--quick] [--only NAME ...] [--runs N] [--threads N]

Workloads (names for --only): gemm, mlp, lenet5, wide, bn_dropout, resnet, resnet20, loader, memory, import.
Each contestant runs ``--runs`` times, interleaved with the other (gradkit, pytorch, gradkit, ...),
so that load from the rest of the machine falls on both alike; min / median / max are reported and
the ratio is of the medians. ``--quick`` trains on the first 10,000 samples (and fewer steps) to
check the suite in about two minutes; the figures that count come from a full run.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from .models import _pin_threads

NAMES = ("gemm", "mlp", "lenet5", "wide", "bn_dropout", "resnet", "resnet20", "loader", "memory", "import")
TARGETS = {"mlp": ("epoch time <= 0.85x PyTorch", lambda r: r["ratio"] <= 0.85),
           "lenet5": ("epoch time <= 1.0x PyTorch", lambda r: r["ratio"] <= 1.0),
           "wide": (">= 70% of the GEMM peak", lambda r: r.get("peak_share", 0) >= 0.70),
           "resnet": ("step time <= 1.0x PyTorch", lambda r: r["ratio"] <= 1.0),
           "resnet20": ("step time <= 1.2x PyTorch", lambda r: r["ratio"] <= 1.2),
           "memory": ("peak RSS <= PyTorch's", lambda r: r["ratio"] <= 1.0),
           "memory_training": ("<= PyTorch's", lambda r: r["training_ratio"] <= 1.0),
           "import": ("<= 0.3 s", lambda r: r["gradkit"]["median"] <= 0.3)}


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def _bar(total: int):
    try:
        from tqdm import tqdm
    except ImportError:  # no bar, no harm
        return None
    return tqdm(total=total, file=sys.stderr, dynamic_ncols=True, leave=False)


def _time_workload(workload, runs: int, bar) -> dict:
    """Interleaved runs of each contestant of ``workload``; seconds per unit, the ratio, GFLOP/s."""
    from .timing import interleaved
    if bar is not None:
        bar.set_description(workload.name[:40])
    result = interleaved(workload.contestants, repeats=runs, inner=workload.inner, warmup=workload.warmup,
                         tick=None if bar is None else lambda: bar.update(1))
    mine = next(n for n in workload.contestants if n != workload.baseline)
    result["ratio"] = result[mine]["median"] / result[workload.baseline]["median"]
    if workload.flops:
        result["gflops"] = {n: workload.contestant_flops.get(n, workload.flops) / result[n]["median"] / 1e9
                            for n in workload.contestants}
    return result


def _subprocess_rows(names, runs: int, bar) -> dict:
    """Peak memory and import time: every figure from a fresh child process, interleaved."""
    from .memory import measure_import, measure_memory
    from .timing import summary
    env = dict(os.environ)
    rows = {}
    if "memory" in names:
        peaks, training, anon = ({"gradkit": [], "pytorch": []} for _ in range(3))
        for _ in range(runs):
            for fw in peaks:
                m = measure_memory(fw, 30, env)
                peaks[fw].append(m["peak_mib"])
                training[fw].append(m["peak_mib"] - m["baseline_mib"])
                anon[fw].append(m["anon_rise_mib"])
                if bar is not None:
                    bar.update(1)
        row = {fw: summary(v) for fw, v in peaks.items()}
        row["training"] = {fw: summary(v) for fw, v in training.items()}
        row["ratio"] = row["gradkit"]["median"] / row["pytorch"]["median"]
        row["training_ratio"] = row["training"]["gradkit"]["median"] / row["training"]["pytorch"]["median"]
        row["anon"] = {fw: summary(v) for fw, v in anon.items()}
        row["anon_ratio"] = row["anon"]["gradkit"]["median"] / row["anon"]["pytorch"]["median"]
        rows["memory"] = row
    if "import" in names:
        times = {"gradkit": [], "pytorch": []}
        for _ in range(runs):
            for fw, module in (("gradkit", "gradkit"), ("pytorch", "torch")):
                times[fw].append(measure_import(module, env))
                if bar is not None:
                    bar.update(1)
        row = {fw: summary(v) for fw, v in times.items()}
        row["ratio"] = row["gradkit"]["median"] / row["pytorch"]["median"]
        rows["import"] = row
    return rows


def run(names, runs: int, threads, quick: bool) -> tuple[dict, dict]:
    import gradkit as gk
    import torch
    from . import workloads as W

    if threads:
        torch.set_num_threads(threads)
    train = None
    if any(n in names for n in ("mlp", "lenet5", "wide", "bn_dropout", "resnet", "loader")):  # resnet20: synthetic
        train, _ = gk.data.load("fashion-mnist", download=False)
        if quick:
            train = train.subset(range(10_000))
    builders = W.training_workloads(train, quick)
    builders["gemm"] = W.gemm_workload
    builders["loader"] = lambda: W.loader_workload(train)
    timed = [n for n in names if n in builders]
    ticks = runs * 2 * (len(timed) + len([n for n in names if n in ("memory", "import")]))
    ticks += runs if "wide" in timed else 0  # its third contestant, the interleaved GEMM peak
    bar = _bar(ticks)
    results, workloads = {}, {}
    for name in timed:
        if threads:  # each workload starts with BLAS holding the threads (gradkit takes them at its first split loop)
            gk.threads.set_num_threads(threads)
        workloads[name] = builders[name]()
        results[name] = _time_workload(workloads[name], runs, bar)
        workloads[name].contestants = dict.fromkeys(workloads[name].contestants)  # let the models go
    results.update(_subprocess_rows(names, runs, bar))
    if bar is not None:
        bar.close()
    if "wide" in results:  # the peak was timed interleaved with the wide MLP itself (workloads.with_gemm_peak)
        wide = results["wide"]
        peak = wide["gflops"][W.PEAK]
        wide["peak"], wide["peak_share"] = peak, wide["gflops"]["gradkit"] / peak
        wide["torch_peak_share"] = wide["gflops"]["pytorch"] / peak
    return results, workloads


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 training samples: a check, not the figures")
    parser.add_argument("--only", nargs="+", choices=NAMES, default=None, metavar="NAME",
                        help=f"run only these workloads ({', '.join(NAMES)})")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per contestant (>= 3 for RESULTS.md)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS / torch threads for both (default 2)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "RESULTS.md"),
                        help="where to write the report ('-' for stdout only)")
    args = parser.parse_args(argv)
    _pin_threads(args.threads)  # before numpy starts its thread pool
    names = [n for n in NAMES if args.only is None or n in args.only]
    load_before, start = _loadavg(), time.time()
    results, workloads = run(names, args.runs, args.threads, args.quick)
    from .report import render
    context = {"argv": " ".join(["python -m bench"] + list(argv if argv is not None else sys.argv[1:])),
               "threads": args.threads, "runs": args.runs, "quick": args.quick, "load_before": load_before,
               "load_after": _loadavg(), "seconds": time.time() - start, "cpu": platform.processor() or platform.machine(),
               "cpus": os.cpu_count()}
    text = render(results, workloads, context, TARGETS)
    print(text)
    if args.out != "-":
        with open(args.out, "w") as f:
            f.write(text)
        print(f"\nwritten to {args.out}", file=sys.stderr)
    return results


if __name__ == "__main__":
    main()
