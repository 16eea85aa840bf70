"""Manual, numerical, symbolic, forward-mode and reverse-mode derivatives of the same functions (article 004).

Accuracy: three functions R^n -> R with hand-derived gradients, against the exact derivative (the same
formula in extended precision). Hand-written, forward-mode (one jvp per input) and reverse-mode (one
backward) derivatives agree with it to rounding; central differences carry truncation error for large
steps and rounding error for small ones, and even the best step loses about half the digits. Cost: the
full Jacobian of tanh(A x) for A of m x n, counted in primitive operations executed: forward mode costs
one pass per input, reverse mode one backward pass per output, central differences two calls per input. Symbolic (SymPy): exact too,
but the derivative of a nested composition f(f(...f(x))) swells: its expression tree grows
geometrically with depth while the autodiff graph grows by the same few ops per level, and SymPy's
derivative is not the simplest form.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy

from ...autograd import Tensor, grad, jvp, numerical_grad
from ...autograd.function import Function
from .. import plotting, verdicts
from ..registry import experiment
from . import _symbolic

# name: (f on Tensors, its gradient by hand in numpy: works in float64 and in long double,
#        the summed term as a SymPy expression in one variable)
FUNCTIONS = {
    "sum sin(x) exp(x/2)": (lambda x: (x.sin() * (x / 2).exp()).sum(),
                            lambda x: numpy.exp(x / 2) * (numpy.cos(x) + numpy.sin(x) / 2),
                            lambda sp, u: sp.sin(u) * sp.exp(u / 2)),
    "sum log(1 + x^2)": (lambda x: (x * x + 1).log().sum(), lambda x: 2 * x / (1 + x * x),
                         lambda sp, u: sp.log(1 + u ** 2)),
    "sum tanh(x)^2": (lambda x: (x.tanh() * x.tanh()).sum(), lambda x: 2 * numpy.tanh(x) * (1 - numpy.tanh(x) ** 2),
                      lambda sp, u: sp.tanh(u) ** 2),
}


@dataclass(frozen=True)
class Config:
    n_inputs: int = 50                # size of x in the accuracy test
    dtype: str = "float64"            # the working precision of the hand, forward and reverse derivatives
    steps: tuple = tuple(10.0 ** -k for k in range(1, 14))   # central-difference steps h
    sizes: tuple = (1, 2, 4, 8, 16, 32, 64)                   # n (with m = 1) and m (with n = 1)
    wall_clock: bool = True           # record seconds (off in the tiny run: times are not repeatable)
    nest: str = "sin(u) exp(u/2)"     # the function composed with itself (a key of _symbolic.NESTS)
    depths: tuple = tuple(range(1, 9))  # nesting depths f(x), f(f(x)), ...
    simplify_depth: int = 3           # sympy.simplify the derivatives up to this depth (seconds at depth 3)
    points: int = 5                   # points x ~ U(-1, 1) where the nested derivatives are compared


@contextlib.contextmanager
def counting_ops():
    """Count every primitive evaluated (``Function.__call__``: forward ops, and the ops the backward and
    jvp rules are written with); yields a one-item list holding the running count."""
    original, count = Function.__call__, [0]

    def counted(self, *inputs):
        count[0] += 1
        return original(self, *inputs)

    Function.__call__ = counted
    try:
        yield count
    finally:
        Function.__call__ = original


def forward_gradient(f, x: numpy.ndarray) -> numpy.ndarray:
    """∇f by forward mode: one jvp per input, along each unit vector e_i."""
    out = numpy.empty_like(x)
    for i in range(x.size):
        e = numpy.zeros_like(x)
        e[i] = 1.0
        out[i] = float(jvp(f, Tensor(x), Tensor(e))[1].data)
    return out


def reverse_gradient(f, x: numpy.ndarray) -> numpy.ndarray:
    """∇f by reverse mode: one forward pass recording the graph, one backward pass."""
    t = Tensor(x, requires_grad=True)
    return grad(f(t), [t])[0].data


def relative_error(approx, exact) -> float:
    """max |approx - exact| / max |exact|."""
    exact = numpy.asarray(exact, dtype=numpy.longdouble)
    return float(numpy.max(numpy.abs(numpy.asarray(approx, dtype=numpy.longdouble) - exact)) / numpy.max(numpy.abs(exact)))


def jacobian_costs(n: int, m: int, rng) -> dict:
    """Primitive ops to build the m x n Jacobian of tanh(A x) by each method (and the Jacobians)."""
    a = Tensor(rng.standard_normal((m, n)) / numpy.sqrt(n))
    x = rng.standard_normal(n)
    f = lambda v: (a @ v.reshape(n, 1)).reshape(m).tanh()
    out = {}
    with counting_ops() as count:
        columns = [jvp(f, Tensor(x), Tensor(numpy.eye(n)[i]))[1].data for i in range(n)]
    out["forward"] = (count[0], numpy.stack(columns, axis=1))
    with counting_ops() as count:
        t = Tensor(x, requires_grad=True)
        y = f(t)
        rows = [grad(y[k], [t], retain_graph=True)[0].data for k in range(m)]
    out["reverse"] = (count[0], numpy.stack(rows))
    with counting_ops() as count:
        rows = [numerical_grad(lambda v, k=k: f(v)[k], [x])[0] for k in range(m)]
    out["numerical"] = (count[0], numpy.stack(rows))
    return out


def run(config: Config, rng) -> dict:
    dtype = numpy.dtype(config.dtype)
    x = rng.uniform(-2.0, 2.0, config.n_inputs)
    accuracy, curves = {}, {}
    for name, (f, by_hand, term) in FUNCTIONS.items():
        exact = by_hand(x.astype(numpy.longdouble))
        xd = x.astype(dtype)
        symbol, _, derivative = _symbolic.derivative(term)
        accuracy[name] = {"manual": relative_error(by_hand(xd), exact),
                          "forward": relative_error(forward_gradient(f, xd), exact),
                          "reverse": relative_error(reverse_gradient(f, xd), exact),
                          "symbolic": relative_error(_symbolic.evaluate(derivative, symbol, xd), exact)}
        curves[name] = [relative_error(numerical_grad(f, [x], eps=h)[0], exact) for h in config.steps]
        accuracy[name]["numerical (best h)"] = min(curves[name])
    seed = int(rng.integers(2 ** 31))
    sweeps = {}
    for label, shape in (("inputs n (m = 1)", lambda s: (s, 1)), ("outputs m (n = 1)", lambda s: (1, s))):
        sweep = {"forward": [], "reverse": [], "numerical": [], "disagreement": [], "seconds": []}
        for s in config.sizes:
            start = time.perf_counter()
            costs = jacobian_costs(*shape(s), numpy.random.default_rng(seed))
            sweep["seconds"].append(time.perf_counter() - start)
            for method, (ops, _) in costs.items():
                sweep[method].append(ops)
            sweep["disagreement"].append(float(numpy.max(numpy.abs(costs["forward"][1] - costs["reverse"][1]))))
        if not config.wall_clock:
            del sweep["seconds"]
        sweeps[label] = sweep
    swell = expression_swell(config, rng.uniform(-1.0, 1.0, config.points))
    tables = [{"title": f"relative error of the gradient against the exact one ({config.dtype}, n = {config.n_inputs})",
               "columns": ["function", "manual", "forward mode", "reverse mode", "symbolic (SymPy, lambdify)",
                           "central differences, best h"],
               "rows": [[k, v["manual"], v["forward"], v["reverse"], v["symbolic"], v["numerical (best h)"]]
                        for k, v in accuracy.items()]},
              {"title": f"size of d/dx of {config.nest} nested to each depth: SymPy's operation counts against "
                        f"the ops autodiff executes (forward + backward), and relative errors ({config.dtype})",
               "columns": ["depth", "symbolic tree", "simplified", "shared subexpressions", "autodiff ops",
                           "error symbolic", "error reverse", "error central diff. (h=1e-6)"],
               "rows": [[d, swell["tree"][i], swell["simplified"][i] if i < len(swell["simplified"]) else "-",
                         swell["shared"][i], swell["autodiff"][i], swell["error symbolic"][i], swell["error reverse"][i],
                         swell["error numerical"][i]] for i, d in enumerate(config.depths)]}]
    tables += [{"title": f"primitive ops to build the Jacobian of tanh(A x), sweeping {label}",
                "columns": ["size", "forward mode", "reverse mode", "central differences"],
                "rows": [[s, sw["forward"][i], sw["reverse"][i], sw["numerical"][i]] for i, s in enumerate(config.sizes)]}
               for label, sw in sweeps.items()]
    return {"dtype": config.dtype, "steps": list(config.steps), "sizes": list(config.sizes), "accuracy": accuracy,
            "numerical_curves": curves, "sweeps": sweeps, "swell": swell, "tables": tables}


def expression_swell(config: Config, x: numpy.ndarray) -> dict:
    """For f = ``config.nest`` composed with itself to each depth: the size of its symbolic derivative
    (tree, shared, simplified), the primitive ops of one reverse-mode gradient, and the relative error of
    each mode at ``x`` against a 30-digit evaluation of the symbolic derivative."""
    on_tensor, on_sympy = _symbolic.NESTS[config.nest]
    xd = x.astype(numpy.dtype(config.dtype))
    out = {"nest": config.nest, "depths": list(config.depths), "tree": [], "shared": [], "simplified": [],
           "autodiff": [], "error symbolic": [], "error reverse": [], "error numerical": []}
    for depth in config.depths:
        symbol, _, df = _symbolic.derivative(_symbolic.nest(on_sympy, depth))
        size = _symbolic.sizes(df, simplify=depth <= config.simplify_depth)
        for key in size:
            out[key].append(size[key])

        def f(t, depth=depth):
            for _ in range(depth):
                t = on_tensor(t)
            return t.sum()
        with counting_ops() as count:
            by_reverse = reverse_gradient(f, xd)
        out["autodiff"].append(count[0])
        exact = _symbolic.exact(df, symbol, x)
        out["error symbolic"].append(relative_error(_symbolic.evaluate(df, symbol, xd), exact))
        out["error reverse"].append(relative_error(by_reverse, exact))
        out["error numerical"].append(relative_error(numerical_grad(f, [x], eps=1e-6)[0], exact))
    return out


def plot(results: dict, folder) -> list[str]:
    fig, axes = plotting.figure(3, panel_size=(5, 4))
    for name, curve in results["numerical_curves"].items():
        axes[0].loglog(results["steps"], curve, "o-", markersize=3, label=f"central differences: {name}")
    worst_ad = max(max(v["forward"], v["reverse"]) for v in results["accuracy"].values())
    axes[0].axhline(max(worst_ad, 1e-19), color="k", linestyle="--", label="worst of forward / reverse mode")
    axes[0].set_xlabel("step h"), axes[0].set_ylabel("relative error"), axes[0].legend(fontsize=7), axes[0].grid(alpha=0.3)
    axes[0].set_title("truncation (large h) vs rounding (small h)", fontsize=10)
    for ax, (label, sweep) in zip(axes[1:], results["sweeps"].items()):
        for method in ("forward", "reverse", "numerical"):
            ax.loglog(results["sizes"], sweep[method], "o-", markersize=3, label=method)
        ax.set_xlabel(label), ax.set_ylabel("primitive ops for the whole Jacobian"), ax.legend(fontsize=8)
        ax.grid(alpha=0.3), ax.set_title(f"cost against {label.split(' ')[0]}", fontsize=10)
        if "seconds" in sweep:
            twin = ax.twinx()
            twin.loglog(results["sizes"], sweep["seconds"], "k:", label="seconds, all three (this run)")
            twin.set_ylabel("seconds (this run)"), twin.legend(fontsize=7, loc="lower right")
    figures = [plotting.save(fig, folder, "modes", title=f"Ways to differentiate ({results['dtype']})")]
    return figures + [plot_swell(results["swell"], results["dtype"], folder)]


def plot_swell(swell: dict, dtype: str, folder) -> str:
    fig, axes = plotting.figure(2, panel_size=(5.5, 4))
    depths = swell["depths"]
    for key, label in (("tree", "symbolic derivative (SymPy's tree)"), ("simplified", "symbolic, simplified"),
                       ("shared", "symbolic, common subexpressions shared"),
                       ("autodiff", "autodiff: ops of one reverse-mode gradient")):
        axes[0].semilogy(depths[:len(swell[key])], swell[key], "o-", markersize=3, label=label)
    axes[0].set_xlabel("nesting depth"), axes[0].set_ylabel("operations"), axes[0].grid(alpha=0.3)
    axes[0].set_title(f"expression swell: d/dx of {swell['nest']} nested", fontsize=10), axes[0].legend(fontsize=7)
    for key in ("error symbolic", "error reverse", "error numerical"):
        axes[1].semilogy(depths, [max(e, 1e-19) for e in swell[key]], "o-", markersize=3, label=key[6:])
    axes[1].set_xlabel("nesting depth"), axes[1].set_ylabel("relative error (vs 30 digits)"), axes[1].grid(alpha=0.3)
    axes[1].set_title(f"accuracy of each mode ({dtype})", fontsize=10), axes[1].legend(fontsize=8)
    for ax in axes:
        ax.set_xticks(depths)
    return plotting.save(fig, folder, "swell", title="Symbolic differentiation against autodiff")


def _growth(series) -> float:
    return series[-1] / series[0]


def check(results: dict) -> list:
    acc, sizes = results["accuracy"], results["sizes"]
    ad = max(max(v["manual"], v["forward"], v["reverse"]) for v in acc.values())
    best_numerical = min(v["numerical (best h)"] for v in acc.values())
    curves = results["numerical_curves"].values()
    u_shape = all(c[0] >= 100 * min(c) and c[-1] >= 100 * min(c) for c in curves)
    by_n, by_m = results["sweeps"]["inputs n (m = 1)"], results["sweeps"]["outputs m (n = 1)"]
    span = sizes[-1] / sizes[0]
    return [
        verdicts.at_most("hand-written, forward and reverse derivatives are exact to rounding", ad, 1e-12,
                         "automatic differentiation 'applies symbolic derivatives to elementary operations and "
                         "substitutes numbers': no approximation, only float64 rounding (relative error <= 1e-12)"),
        verdicts.holds("numerical differences are inaccurate", best_numerical >= 100 * ad and u_shape,
                       f"best central difference {best_numerical:.3g} vs automatic {ad:.3g}; error at the largest "
                       f"and smallest h >= 100x the best: {u_shape}",
                       "numerical differentiation has 'poor precision': even at its best step h it is >= 100x less "
                       "accurate than autodiff, and truncation (large h) and rounding (small h) both cost >= 100x"),
        verdicts.holds("forward mode pays per input, reverse mode per output",
                       _growth(by_n["forward"]) >= span / 2 and _growth(by_n["reverse"]) <= 2
                       and _growth(by_m["reverse"]) >= span / 2 and _growth(by_m["forward"]) <= 2,
                       f"n x{span:g}: forward ops x{_growth(by_n['forward']):.3g}, reverse x{_growth(by_n['reverse']):.3g}; "
                       f"m x{span:g}: forward x{_growth(by_m['forward']):.3g}, reverse x{_growth(by_m['reverse']):.3g}",
                       "'with many parameters forward mode is inefficient'; reverse mode 'needs one forward and one "
                       "backward pass for the derivatives of all parameters': forward cost grows with the inputs "
                       "(at least half proportionally) and not the outputs (<= 2x), reverse the other way round"),
        verdicts.at_most("forward and reverse Jacobians agree", max(by_n["disagreement"] + by_m["disagreement"]),
                         1e-12, "two exact methods give the same Jacobian up to float64 rounding"),
    ] + check_symbolic(acc, results["swell"])


def check_symbolic(acc: dict, swell: dict) -> list:
    symbolic = max([v["symbolic"] for v in acc.values()] + swell["error symbolic"])
    tree, ops, simplified = swell["tree"], swell["autodiff"], swell["simplified"]
    last_growth = tree[-1] / tree[-2] if len(tree) > 1 else float("nan")
    steps = numpy.diff(ops)
    linear = len(steps) > 0 and steps.max() <= 1.5 * steps.min()
    return [
        verdicts.at_most("symbolic derivatives evaluate exactly to rounding", symbolic, 1e-12,
                         "symbolic differentiation 'solves directly through the expression tree': like autodiff "
                         "and unlike numerical differences it approximates nothing (relative error <= 1e-12 in "
                         "float64, on the three functions and every nesting depth)"),
        verdicts.holds("symbolic derivatives swell with depth, autodiff's graph does not",
                       last_growth >= 1.5 and bool(linear) and tree[-1] > ops[-1],
                       f"depth {swell['depths'][0]}..{swell['depths'][-1]}: tree {tree[0]} -> {tree[-1]} ops "
                       f"(last level x{last_growth:.3g}); autodiff {ops[0]} -> {ops[-1]} ops (per level "
                       f"+{steps.min() if len(steps) else 0}..+{steps.max() if len(steps) else 0})",
                       "'when the function is complex the expression tree becomes very complex: expression "
                       "explosion': each level multiplies the derivative's tree by >= 1.5, the autodiff graph grows "
                       "by a constant number of ops per level (within 1.5x), and the tree ends larger",
                       numbers=(("autodiff ops, deepest", ops[-1]), ("symbolic tree, deepest", tree[-1]))),
        verdicts.holds("SymPy's derivative is not the simplest form",
                       bool(simplified) and all(s < t for s, t in zip(simplified, tree)),
                       "tree / simplified ops: " + ", ".join(f"{t}/{s}" for t, s in zip(tree, simplified)),
                       "'the derivative obtained is not necessarily the simplest': sympy.simplify shrinks the "
                       "derivative at every depth it is run on"),
    ]


EXPERIMENT = experiment(
    "autodiff-modes", order=19, title="Manual, numerical, forward and reverse differentiation",
    source="article 004 (automatic differentiation: manual, numerical, symbolic, forward and reverse mode)",
    config=Config(), quick=Config(n_inputs=20, sizes=(1, 4, 16, 32), depths=(1, 2, 3, 4, 5), simplify_depth=2),
    tiny=Config(n_inputs=3, steps=(1e-1, 1e-5, 1e-12), sizes=(1, 2, 4), wall_clock=False, depths=(1, 2, 3),
                simplify_depth=0, points=2),  # no sympy.simplify (seconds); the broken config runs it
    # autodiff in float32: its rounding (~1e-7) is no better than float64 central differences
    # and a nest that uses its argument once (sin): no swell, and sin' = cos is already simplest
    broken=Config(n_inputs=10, dtype="float32", sizes=(1, 4, 8), nest="sin(u)", depths=tuple(range(1, 8)),
                  simplify_depth=2),
    run=run, plot=plot, check=check)
