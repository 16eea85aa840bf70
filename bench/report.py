"""RESULTS.md from the figures of ``python -m bench``: one table, then the targets, met or not."""
from __future__ import annotations

import datetime


def _seconds(r: dict) -> str:
    scale, unit = (1e3, "ms") if r["median"] < 1 else (1.0, "s")
    return " / ".join(f"{r[k] * scale:.3g}" for k in ("min", "median", "max")) + f" {unit}"


def _mib(r: dict) -> str:
    return " / ".join(f"{r[k]:.0f}" for k in ("min", "median", "max")) + " MiB"


def _versions() -> str:
    import numpy
    import torch
    return f"NumPy {numpy.__version__}, PyTorch {torch.__version__}"


def render(results: dict, workloads: dict, context: dict, targets: dict) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{context['argv']}` on {datetime.date.today().isoformat()}: {context['cpus']} CPUs "
        f"({context['cpu']}), {context['threads']} thread(s) for both frameworks, {_versions()}, "
        f"{context['runs']} interleaved runs per contestant{' (--quick: 10,000 samples, not the figures)' if context['quick'] else ''}.",
        f"Load average (1, 5, 15 min) before: {context['load_before']}; after: {context['load_after']}; "
        f"the suite took {context['seconds']:.0f} s.",
        "",
        "Times are min / median / max per unit; the ratio is gradkit's median over PyTorch's (lower is "
        "better for gradkit); GFLOP/s counts the matrix products of a training step (see bench/README.md).",
        "",
        "| workload | unit | gradkit | PyTorch | ratio | GFLOP/s gradkit / PyTorch | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        target, check = targets.get(name, ("", None))
        met = "" if check is None else ("yes" if check(r) else "**no**")
        if name == "memory":
            lines.append(f"| LeNet-5 training, peak RSS (fresh process, 30 steps) | process | {_mib(r['gradkit'])} | "
                         f"{_mib(r['pytorch'])} | {r['ratio']:.2f}x | | {target} | {met} |")
            t = r["training"]
            target, check = targets.get("memory_training", ("", None))
            met = "" if check is None else ("yes" if check(r) else "**no**")
            lines.append(f"| LeNet-5 training, peak RSS above the post-import baseline | process | {_mib(t['gradkit'])} "
                         f"| {_mib(t['pytorch'])} | {r['training_ratio']:.2f}x | | {target} | {met} |")
            a = r["anon"]
            lines.append(f"| LeNet-5 training, anonymous memory (RssAnon) at the end above the baseline: the rise "
                         f"without shared-library pages | process | {_mib(a['gradkit'])} | {_mib(a['pytorch'])} | "
                         f"{r['anon_ratio']:.2f}x | | | |")
            continue
        if name == "import":
            lines.append(f"| `import gradkit` vs `import torch` (fresh process) | import | {_seconds(r['gradkit'])} | "
                         f"{_seconds(r['pytorch'])} | {r['ratio']:.2f}x | | {target} | {met} |")
            continue
        w = workloads[name]
        mine = [n for n in w.contestants if n != w.baseline][0]
        flops = ""
        if "gflops" in r:
            flops = f"{r['gflops'][mine]:.1f} / {r['gflops'][w.baseline]:.1f}"
        if name == "wide" and "peak_share" in r:
            target += (f" (gradkit {r['peak_share']:.0%}, PyTorch {r['torch_peak_share']:.0%} of "
                       f"{r['peak']:.0f} GFLOP/s, NumPy's GEMM timed between their runs)")
        lines.append(f"| {w.name} | {w.unit} | {_seconds(r[mine])} | {_seconds(r[w.baseline])} | {r['ratio']:.2f}x | "
                     f"{flops} | {target} | {met} |")
    if "gemm" in results:
        lines += ["", "The GEMM row is NumPy's `matmul` (gradkit's engine) against `torch.mm`. The wide MLP's share "
                      "of the peak is measured against the same 2048^3 NumPy product timed again, interleaved with "
                      "the wide MLP's own runs."]
    notes = [n for w in workloads.values() for n in w.notes]
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"
