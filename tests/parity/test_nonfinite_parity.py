"""NaN, infinities, signed zeros and kinks: gradkit against torch on the same inputs.

Each case runs ``fn(m, *tensors)`` once with ``m = torch`` and once with ``m = gradkit`` on NumPy
inputs holding NaN, +inf, -inf, -0.0, +0.0, ordinary values and the op's kinks (0 for relu and abs,
ties for max and maximum, the bounds of clamp), in float32 and float64. It compares the forward
values (NaN and infinities in the same places; the signs of zeros where IEEE 754 defines them), the
output dtype, and the gradient of every float input for an upstream gradient of ordinary values.
Ops whose backward is a select or a mask (relu, where, clamp, max, nll_loss...) are also run with
an upstream gradient holding NaN and infinities: a select passes gy only where it picks it, so a
NaN must not leak into the other places through ``gy * mask``.

``KNOWN`` lists the differences that remain, each with the reason; those cases are strict xfails.
"""
from __future__ import annotations

import warnings

import numpy
import pytest
import torch

import gradkit as gk

NAN, INF = float("nan"), float("inf")
SPECIAL = numpy.array([NAN, INF, -INF, -0.0, 0.0, 1.5, -2.0, 0.5, -0.25, 3.0])
KINKS = numpy.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.25, 1.5, -2.0, 2.0, 3.0])  # 0, and the clamps' bounds below
# NaN comes first, where torch's CPU kernels run vectorised: its elu backward gives NaN there but gy in
# the scalar loop over the last elements that do not fill a vector (gradkit gives NaN everywhere)
X = numpy.concatenate([SPECIAL, KINKS])
FAR_BELOW_0 = numpy.array([-20.0, -50.0, -88.0, -1e-8, -1e-30, -0.5, -3.0, -12.0, -30.0, -70.0] * 2)
POSITIVE = numpy.array([NAN, INF, 0.0, -0.0, 1e-30, 0.25, 1.0, 4.0, 1e30, -1.0])
# pairs: NaN on either side, inf - inf, ties (also of signed zeros), and magnitudes whose square
# over- or underflows in float32
A = numpy.array([NAN, INF, -INF, -0.0, 0.0, 1.5, -2.0, 0.5, 2.0, 0.0, INF, NAN, 1e-30, 1e30])
B = numpy.array([1.0, INF, INF, 0.0, -0.0, 1.5, NAN, -INF, 2.0, NAN, -INF, NAN, 1e-30, 1e20])
# rows for reductions over dim 1: NaN, infinities, all -inf, tied infinities, signed zeros,
# a constant row (zero variance), ties at the maximum, an ordinary row
ROWS = numpy.array([[NAN, 1.0, 2.0], [INF, 1.0, 2.0], [-INF, 1.0, 2.0], [-INF, -INF, -INF], [INF, INF, 0.0],
                    [0.0, -0.0, 1.0], [1.0, 1.0, 1.0], [-INF, -INF, 3.0], [2.0, 3.0, 3.0], [0.5, -1.0, 0.25]])
FINITE_ROWS = numpy.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, -0.0, -1.0], [-1.0, -2.0, -1.0], [0.5, 0.25, 4.0]])
NO_ZEROS = numpy.array([[INF, 1.0, 2.0], [NAN, 2.0, 3.0], [-INF, 0.5, 4.0], [1.5, -2.0, 0.25]])
TIES = numpy.array([1.0, 3.0, -0.0, 3.0, 0.0, -INF, 2.0, 3.0])
TWO_NANS = numpy.array([1.0, NAN, 3.0, NAN, INF])
CLASSES = numpy.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
IGNORING = numpy.array([0, 1, -100, 0, 1, 2, 0, 1, -100, 0])
IMAGE = numpy.array([[1.0, NAN, 2.0, 3.0, 0.0, 0.0],        # at most one NaN in each 2x2 and 3x3 window
                     [5.0, 0.5, INF, 1.0, 0.0, 0.0],
                     [-INF, -INF, 2.0, 2.0, -0.0, 1.0],
                     [-INF, -INF, 2.0, 2.0, 0.0, 0.0],
                     [INF, -INF, 1.0, 1.0, -1.0, NAN],
                     [0.0, 0.0, 1.0, 4.0, -3.0, 7.0]])
IMAGES = numpy.stack([IMAGE, -IMAGE[::-1, ::-1]])[None]        # (1, 2, 6, 6)
TWO_NAN_WINDOW = numpy.array([[1.0, NAN], [NAN, 0.5]])[None, None]
GY = numpy.array([1.0, -2.0, 0.5, 3.0, -1.0, 0.25, 2.0, -0.5, 1.5, -3.0, 0.75, -1.5])
GY_NONFINITE = numpy.array([NAN, INF, -INF, NAN, INF, -INF, NAN, 1.0, INF, -1.0, 2.0, -INF])
TOL = {numpy.float32: dict(rtol=1e-5, atol=1e-6), numpy.float64: dict(rtol=1e-10, atol=1e-12)}


class Fixed:
    """An input that gets no gradient (targets, class indices)."""

    def __init__(self, array):
        self.array = numpy.asarray(array)


def F(m):
    return m.nn.functional


def _ones(m, x):
    return m.ones(tuple(x.shape), dtype=x.dtype)


# (id, fn(m, *tensors), inputs, also with a non-finite upstream gradient, compare the signs of zeros)
UNARY = [
    # activations
    ("relu", lambda m, x: F(m).relu(x), [X], True, False),
    ("torch.relu", lambda m, x: m.relu(x), [X], True, False),
    ("Tensor.relu", lambda m, x: x.relu(), [X], True, False),
    ("leaky_relu", lambda m, x: F(m).leaky_relu(x), [X], True, False),
    ("leaky_relu-0.2", lambda m, x: F(m).leaky_relu(x, 0.2), [X], True, False),
    ("elu", lambda m, x: F(m).elu(x), [X], True, False),
    ("elu-0.7", lambda m, x: F(m).elu(x, 0.7), [X], True, False),
    ("elu-far-below-0", lambda m, x: F(m).elu(x), [FAR_BELOW_0], True, False),
    ("softplus", lambda m, x: F(m).softplus(x), [X], False, False),
    ("softplus-beta2-threshold1", lambda m, x: F(m).softplus(x, 2.0, 1.0), [X], False, False),
    ("silu", lambda m, x: F(m).silu(x), [X], True, False),
    ("logsigmoid", lambda m, x: F(m).logsigmoid(x), [X], False, False),
    ("gelu-tanh", lambda m, x: F(m).gelu(x, approximate="tanh"), [X], True, False),
    ("sigmoid", lambda m, x: F(m).sigmoid(x), [X], False, False),
    ("torch.sigmoid", lambda m, x: m.sigmoid(x), [X], False, False),
    ("tanh", lambda m, x: F(m).tanh(x), [X], False, True),
    ("softmax-1d", lambda m, x: F(m).softmax(x, 0), [KINKS], False, False),
    ("log_softmax-1d", lambda m, x: F(m).log_softmax(x, 0), [KINKS], False, False),
    # pointwise
    ("abs", lambda m, x: m.abs(x), [X], False, True),
    ("Tensor.abs", lambda m, x: x.abs(), [X], False, True),
    ("neg", lambda m, x: -x, [X], False, True),
    ("sqrt", lambda m, x: m.sqrt(x), [X], False, True),
    ("Tensor.sqrt", lambda m, x: x.sqrt(), [POSITIVE], False, True),
    ("rsqrt", lambda m, x: m.rsqrt(x), [X], False, False),
    ("Tensor.rsqrt", lambda m, x: x.rsqrt(), [POSITIVE], False, False),
    ("exp", lambda m, x: m.exp(x), [X], False, False),
    ("log", lambda m, x: m.log(x), [X], False, False),
    ("log-positive", lambda m, x: m.log(x), [POSITIVE], False, False),
    ("log1p", lambda m, x: m.log1p(x), [X], False, True),
    ("expm1", lambda m, x: m.expm1(x), [X], False, True),
    ("log2", lambda m, x: m.log2(x), [X], False, False),
    ("log10", lambda m, x: m.log10(x), [X], False, False),
    ("sin", lambda m, x: m.sin(x), [X], False, True),
    ("cos", lambda m, x: m.cos(x), [X], False, False),
    ("tan", lambda m, x: m.tan(x), [X], True, True),
    ("reciprocal", lambda m, x: m.reciprocal(x), [X], False, True),
    ("square", lambda m, x: m.square(x), [X], False, True),
    ("sign", lambda m, x: m.sign(x), [X], True, False),
    ("floor", lambda m, x: m.floor(x), [X], True, True),
    ("ceil", lambda m, x: m.ceil(x), [X], True, True),
    ("round", lambda m, x: m.round(x), [X], True, True),
    ("trunc", lambda m, x: m.trunc(x), [X], True, True),
    ("frac", lambda m, x: m.frac(x), [X], True, False),
    ("pow-2", lambda m, x: x ** 2, [X], False, False),
    ("pow-3", lambda m, x: x ** 3, [X], False, True),
    ("pow-0.5", lambda m, x: x ** 0.5, [X], False, True),
    ("pow--0.5", lambda m, x: x ** -0.5, [X], False, False),
    ("pow-1.5", lambda m, x: x ** 1.5, [X], False, False),
    ("pow--1", lambda m, x: x ** -1, [X], False, True),
    ("pow--2", lambda m, x: x ** -2, [X], False, False),
    ("pow-0", lambda m, x: x ** 0, [X], True, False),
    ("pow-1", lambda m, x: m.pow(x, 1), [X], False, True),
    ("rpow-2", lambda m, x: 2.0 ** x, [X], False, False),
    ("rpow-0", lambda m, x: 0.0 ** x, [X], False, False),
    # selects: clamp, maximum, where, masked_fill
    ("clamp", lambda m, x: m.clamp(x, -2.0, 1.5), [X], True, False),
    ("clamp-min", lambda m, x: m.clamp(x, min=0.0), [X], True, False),
    ("clamp-max", lambda m, x: m.clamp(x, max=0.5), [X], True, False),
    ("clamp-min-above-max", lambda m, x: m.clamp(x, 1.0, -1.0), [X], True, False),
    ("clip", lambda m, x: m.clip(x, -0.25, 0.5), [X], True, False),
    ("Tensor.clamp", lambda m, x: x.clamp(0.0, 1.5), [X], True, False),
    ("maximum-zeros", lambda m, x: m.maximum(x, m.zeros_like(x)), [X], True, False),
    ("minimum-zeros", lambda m, x: m.minimum(x, m.zeros_like(x)), [X], True, False),
    ("maximum-itself", lambda m, x: m.maximum(x, x), [X], True, False),
    ("where", lambda m, x: m.where(x > 0, x, m.zeros_like(x)), [X], True, False),
    ("where-scalar", lambda m, x: m.where(x > 0, x, 0.0), [X], True, False),
    ("Tensor.where", lambda m, x: x.where(x < 1, _ones(m, x)), [X], True, False),
    ("masked_fill", lambda m, x: m.masked_fill(x, m.tensor([True, False, False] * 6 + [True, False]), 0.0),
     [X], True, False),
    ("Tensor.clamp_", lambda m, x: (x * 1).clamp_(-2.0, 1.5), [X], True, False),
    ("Tensor.masked_fill_", lambda m, x: (x * 1).masked_fill_(x > 0, 0.0), [X], True, False),
]

BINARY = [
    ("add", lambda m, a, b: a + b, False),
    ("sub", lambda m, a, b: a - b, False),
    ("mul", lambda m, a, b: a * b, False),
    ("div", lambda m, a, b: a / b, False),
    ("pow", lambda m, a, b: a ** b, True),
    ("maximum", lambda m, a, b: m.maximum(a, b), True),
    ("minimum", lambda m, a, b: m.minimum(a, b), True),
    ("max-elementwise", lambda m, a, b: m.max(a, b), True),
    ("min-elementwise", lambda m, a, b: m.min(a, b), True),
    ("where", lambda m, a, b: m.where(a > b, a, b), True),
    ("clamp-tensor-min", lambda m, a, b: m.clamp(a, min=b), True),
    ("clamp-tensor-max", lambda m, a, b: m.clamp(a, max=b), True),
    ("clamp-tensor-both", lambda m, a, b: m.clamp(a, b, b + 1.0), True),
    ("mse_loss", lambda m, a, b: F(m).mse_loss(a, b, reduction="none"), False),
    ("mse_loss-mean", lambda m, a, b: F(m).mse_loss(a, b), False),
    ("l1_loss", lambda m, a, b: F(m).l1_loss(a, b, reduction="none"), False),
    ("l1_loss-mean", lambda m, a, b: F(m).l1_loss(a, b), False),
    ("binary_cross_entropy_with_logits", lambda m, a, b: F(m).binary_cross_entropy_with_logits(
        a, b, reduction="none"), True),
]

LOGITS_TARGET = Fixed(numpy.array([0.0, 1.0, 1.0, 0.5, 0.0, 1.0, 0.25, 0.5, 1.0, 0.0, 0.75, 0.5, 1.0, 0.0]))
PROBABILITIES = numpy.array([0.0, 1.0, 0.5, 0.25, 1.0, 0.0, 0.9, 1e-30])
PROBABILITY_TARGET = numpy.array([0.0, 1.0, 1.0, 0.5, 0.0, 1.0, 0.3, 1.0])

OTHER = [
    # losses against fixed targets, and with a target that gets a gradient
    ("binary_cross_entropy_with_logits-pos_weight", lambda m, x, t: F(m).binary_cross_entropy_with_logits(
        x, t, reduction="none", pos_weight=m.full((14,), 2.0, dtype=x.dtype)), [A, LOGITS_TARGET], False, False),
    ("binary_cross_entropy_with_logits-fixed-target", lambda m, x, t: F(m).binary_cross_entropy_with_logits(
        x, t, reduction="none"), [A, LOGITS_TARGET], False, False),
    ("binary_cross_entropy", lambda m, p, t: F(m).binary_cross_entropy(p, t, reduction="none"),
     [PROBABILITIES, PROBABILITY_TARGET], True, False),
    ("cross_entropy", lambda m, x: F(m).cross_entropy(x, m.tensor(CLASSES)), [ROWS], False, False),
    ("cross_entropy-none", lambda m, x: F(m).cross_entropy(x, m.tensor(CLASSES), reduction="none"),
     [ROWS], True, False),
    ("cross_entropy-weight", lambda m, x: F(m).cross_entropy(
        x, m.tensor(CLASSES), weight=m.tensor([1.0, 2.0, 0.5], dtype=x.dtype), reduction="none"), [ROWS], False, False),
    ("cross_entropy-probabilities", lambda m, x, t: F(m).cross_entropy(x, t, reduction="none"),
     [ROWS, numpy.tile([[0.2, 0.3, 0.5], [0.0, 0.0, 1.0]], (5, 1))], False, False),
    ("cross_entropy-ignore_index", lambda m, x: F(m).cross_entropy(x, m.tensor(IGNORING), reduction="none"),
     [ROWS], False, False),
    ("cross_entropy-label_smoothing", lambda m, x: F(m).cross_entropy(
        x, m.tensor(CLASSES), label_smoothing=0.1, reduction="none"), [ROWS], False, False),
    ("nll_loss", lambda m, x: F(m).nll_loss(x, m.tensor(CLASSES), reduction="none"), [ROWS], True, False),
    ("nll_loss-mean", lambda m, x: F(m).nll_loss(x, m.tensor(CLASSES)), [ROWS], False, False),
    ("nll_loss-ignore_index", lambda m, x: F(m).nll_loss(x, m.tensor(IGNORING), reduction="none"),
     [ROWS], True, False),
    ("nll_loss-of-log_softmax-masked", lambda m, x: F(m).nll_loss(
        F(m).log_softmax(x, 1), m.tensor([2, 2, 1, 2, 2])), [numpy.array([[-INF, 0.5, 1.0]] * 5)], False, False),
    # reductions over a dim
    ("sum", lambda m, x: m.sum(x, 1), [ROWS], False, False),
    ("mean", lambda m, x: m.mean(x, 1), [ROWS], False, False),
    ("var", lambda m, x: m.var(x, 1), [ROWS], False, False),
    ("var-finite", lambda m, x: m.var(x, 1), [FINITE_ROWS], True, False),
    ("var-correction-above-n", lambda m, x: m.var(x, correction=2), [numpy.array([1.5])], False, False),
    ("var-empty", lambda m, x: m.var(x, 0), [numpy.zeros((0, 2))], False, False),
    ("std", lambda m, x: m.std(x, 1), [ROWS], False, False),
    ("std-finite", lambda m, x: m.std(x, 1), [FINITE_ROWS], False, False),
    ("std-unbiased-false-finite", lambda m, x: x.std(1, unbiased=False), [FINITE_ROWS], False, False),
    ("norm", lambda m, x: m.norm(x, dim=1), [ROWS], False, False),
    ("norm-1", lambda m, x: m.norm(x, 1, dim=1), [ROWS], False, False),
    ("norm-inf", lambda m, x: m.norm(x, INF, dim=1), [ROWS], True, False),
    ("norm--inf", lambda m, x: m.norm(x, -INF, dim=1), [ROWS], True, False),
    ("norm-inf-all", lambda m, x: m.norm(x, INF), [X], True, False),
    ("norm-inf-finite", lambda m, x: m.norm(x, INF, dim=1), [FINITE_ROWS], True, False),
    ("logsumexp", lambda m, x: m.logsumexp(x, 1), [ROWS], False, False),
    ("softmax", lambda m, x: F(m).softmax(x, 1), [ROWS], False, False),
    ("log_softmax", lambda m, x: F(m).log_softmax(x, 1), [ROWS], False, False),
    ("Tensor.softmax", lambda m, x: x.softmax(1), [ROWS], False, False),
    ("amax", lambda m, x: m.amax(x, 1), [ROWS], True, False),
    ("amin", lambda m, x: m.amin(x, 1), [ROWS], True, False),
    ("amax-finite", lambda m, x: m.amax(x, 1), [FINITE_ROWS], True, False),
    ("max-dim", lambda m, x: m.max(x, 1).values, [ROWS], True, False),
    ("min-dim", lambda m, x: m.min(x, 1).values, [ROWS], True, False),
    ("Tensor.max-dim-keepdim", lambda m, x: x.max(dim=1, keepdim=True).values, [ROWS], True, False),
    ("max-dim-indices", lambda m, x: m.max(x, 1).indices, [ROWS], False, False),
    ("min-dim-indices", lambda m, x: m.min(x, 1).indices, [ROWS], False, False),
    ("prod", lambda m, x: m.prod(x, 1), [FINITE_ROWS], False, False),
    ("prod-nonfinite", lambda m, x: m.prod(x, 1), [ROWS], False, False),
    ("prod-nonfinite-no-zeros", lambda m, x: m.prod(x, 1), [NO_ZEROS], False, False),
    ("prod-all-two-zeros", lambda m, x: m.prod(x), [SPECIAL], False, False),
    ("prod-overflowing", lambda m, x: m.prod(x, 1), [numpy.array([[1e30, 1e30, 1e-30]])], False, False),
    # reductions over everything
    ("max-all-ties", lambda m, x: m.max(x), [TIES], True, False),
    ("min-all-ties", lambda m, x: m.min(x), [TIES], True, False),
    ("Tensor.max-all-ties", lambda m, x: x.max(), [TIES], True, False),
    ("amax-all-ties", lambda m, x: m.amax(x), [TIES], True, False),
    ("max-all-nans", lambda m, x: m.max(x), [TWO_NANS], True, False),
    ("min-all-nans", lambda m, x: m.min(x), [TWO_NANS], True, False),
    ("amax-all-nans", lambda m, x: m.amax(x), [TWO_NANS], True, False),
    ("sum-all", lambda m, x: m.sum(x), [X], True, False),
    ("mean-all", lambda m, x: m.mean(x), [X], True, False),
    # pooling, with NaN and infinities inside windows
    ("max_pool2d", lambda m, x: F(m).max_pool2d(x, 2), [IMAGES], True, False),
    ("max_pool2d-3-stride1", lambda m, x: F(m).max_pool2d(x, 3, 1), [IMAGES], True, False),
    ("max_pool2d-3-stride2-padding1", lambda m, x: F(m).max_pool2d(x, 3, 2, 1), [IMAGES], True, False),
    ("max_pool2d-two-nans-in-a-window", lambda m, x: F(m).max_pool2d(x, 2), [TWO_NAN_WINDOW], False, False),
    ("adaptive_max_pool2d", lambda m, x: F(m).adaptive_max_pool2d(x, 3), [IMAGES], True, False),
    ("avg_pool2d", lambda m, x: F(m).avg_pool2d(x, 2), [IMAGES], False, False),
    ("avg_pool2d-3-stride1-padding1", lambda m, x: F(m).avg_pool2d(x, 3, 1, 1), [IMAGES], False, False),
    ("adaptive_avg_pool2d", lambda m, x: F(m).adaptive_avg_pool2d(x, 1), [IMAGES], False, False),
]

CASES = ([(name, fn, inputs, select, signs) for name, fn, inputs, select, signs in UNARY]
         + [(f"{name}-{order}", fn, pair, select, False) for name, fn, select in BINARY
            for order, pair in (("ab", [A, B]), ("ba", [B, A]))]
         + OTHER)

# Differences that remain: "<case id>", "<case id>-<gy>" or "<case id>-<gy>-<dtype>" -> the reason.
FUSED = ("torch's fused backward ({}) multiplies an infinite gy by a finite factor; gradkit's composite adds "
         "inf * 0 or inf - inf terms: NaN where torch gives +-inf")
CROSS_ENTROPY = ("cross_entropy with an infinite gy: torch's log_softmax + nll_loss backward gives gy p - gy = "
                 "NaN at the target class, gradkit's fused (softmax - onehot) gy gives +-inf there")
PROD = ("prod: torch's gradient is gy * prod / x where there is no zero (NaN at an infinite element, inf or 0 "
        "where the product over- or underflows) and 0 everywhere for prod() of all elements with two zeros or "
        "more; gradkit's is the exact product of the other elements (NaN where it meets a zero and an infinity)")
KNOWN = {
    "silu-nonfinite-gy": FUSED.format("silu_backward"), "gelu-tanh-nonfinite-gy": FUSED.format("gelu_backward"),
    "tan-nonfinite-gy": FUSED.format("gy (1 + tan^2)"), "cross_entropy-none-nonfinite-gy": CROSS_ENTROPY,
    "binary_cross_entropy_with_logits-ab-nonfinite-gy": FUSED.format("(sigmoid(x) - t) gy"),
    "binary_cross_entropy_with_logits-ba-nonfinite-gy": FUSED.format("(sigmoid(x) - t) gy"),
    "prod-nonfinite-no-zeros-finite-gy": PROD, "prod-all-two-zeros-finite-gy": PROD,
    "prod-overflowing-finite-gy-float32": PROD,
}


def _params():
    params = []
    for case in CASES:
        name, nonfinite = case[0], case[3]
        for gy in ("finite-gy", "nonfinite-gy") if nonfinite else ("finite-gy",):
            for dtype in (numpy.float32, numpy.float64):
                pid = f"{name}-{gy}-{numpy.dtype(dtype).name}"
                reason = KNOWN.get(pid, KNOWN.get(f"{name}-{gy}", KNOWN.get(name)))
                marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
                params.append(pytest.param(case, gy, dtype, id=pid, marks=marks))
    return params


def _tensors(m, inputs, dtype):
    tensors = []
    for value in inputs:
        fixed = isinstance(value, Fixed)
        array = value.array if fixed else numpy.asarray(value)
        if array.dtype.kind == "f":
            array = array.astype(dtype)
        grad = not fixed and array.dtype.kind == "f"
        tensor = torch.tensor(array, requires_grad=grad) if m is torch else gk.tensor(array.copy(), requires_grad=grad)
        tensors.append((tensor, grad))
    return tensors


def _run(m, fn, inputs, dtype, gy):
    """(output, output dtype, [(gradient, its dtype) for each float input]) as NumPy arrays and names."""
    tensors = _tensors(m, inputs, dtype)
    y = fn(m, *[t for t, _ in tensors])
    out = y.detach().numpy() if m is torch else y.numpy()
    grads = []
    if y.requires_grad:
        upstream = numpy.resize(gy, out.size).reshape(out.shape).astype(dtype)
        y.backward(torch.tensor(upstream) if m is torch else gk.tensor(upstream))
        grads = [(t.grad.numpy(), str(t.grad.dtype).replace("torch.", "")) for t, wants in tensors if wants]
    return out, str(y.dtype).replace("torch.", ""), grads


def assert_same(ours, theirs, dtype, what, signs=False):
    """Equal within dtype's tolerance, NaN and infinities in the same places; the signs of zeros too
    where ``signs``."""
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    if theirs.dtype.kind != "f":
        numpy.testing.assert_array_equal(ours, theirs, err_msg=what)
        return
    numpy.testing.assert_allclose(ours, theirs, equal_nan=True, err_msg=what, **TOL[dtype])
    if signs:
        zeros = theirs == 0
        numpy.testing.assert_array_equal(numpy.signbit(ours[zeros]), numpy.signbit(theirs[zeros]),
                                         err_msg=f"{what}: the signs of zeros")


@pytest.mark.parametrize("case, gy, dtype", _params())
def test_matches_torch_on_nonfinite_values(case, gy, dtype):
    name, fn, inputs, _, signs = case
    upstream = GY_NONFINITE if gy == "nonfinite-gy" else GY
    with numpy.errstate(all="ignore"):
        ours = _run(gk, fn, inputs, dtype, upstream)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about var's degrees of freedom <= 0
        theirs = _run(torch, fn, inputs, dtype, upstream)
    assert ours[1] == theirs[1], f"{name}: dtype {ours[1]} vs torch {theirs[1]}"
    assert_same(ours[0], theirs[0], dtype, f"{name}: forward", signs)
    assert len(ours[2]) == len(theirs[2]), f"{name}: {len(ours[2])} gradients vs torch {len(theirs[2])}"
    for i, ((g, g_dtype), (t, t_dtype)) in enumerate(zip(ours[2], theirs[2])):
        assert g_dtype == t_dtype, f"{name}: gradient {i} dtype {g_dtype} vs torch {t_dtype}"
        assert_same(g, t, dtype, f"{name}: gradient of input {i}")


@pytest.mark.parametrize("probabilities, target", [([0.5, NAN], [0.0, 1.0]), ([0.5, 0.5], [NAN, 1.0]),
                                                   ([0.5, 0.5], [1.5, 1.0]), ([1.0 + 1e-6, 0.5], [0.0, 1.0])],
                         ids=["nan-input", "nan-target", "target-above-1", "input-above-1"])
def test_binary_cross_entropy_refuses_nan_and_values_outside_0_1_like_torch(probabilities, target):
    """torch raises RuntimeError (from C++); gradkit raises its ValueError for a bad value."""
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F(torch).binary_cross_entropy(torch.tensor(probabilities), torch.tensor(target))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        F(gk).binary_cross_entropy(gk.tensor(probabilities), gk.tensor(target))
